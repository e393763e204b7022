"""Services: every read and write of the data goes through these modules.

Each function takes a Session and the acting ``Actor`` and checks access itself; they raise
``dashboard.errors`` types that the REST layer and the callbacks translate.
"""
