"""Typed errors raised by services; REST maps them to status codes, callbacks to messages."""


class HalleyError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Invalid(HalleyError):
    status = 400


class Unauthorized(HalleyError):
    status = 401


class Forbidden(HalleyError):
    status = 403


class NotFound(HalleyError):
    status = 404


class Conflict(HalleyError):
    status = 409


class TooLarge(HalleyError):
    status = 413
