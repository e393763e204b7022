"""Test data for the workspace and project section tests, made through the services."""
from __future__ import annotations

import uuid

from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.services import accounts as account_service, experiment_bulk, ingest, projects, workspaces


class ProjectData:
    def __init__(self, accounts, server):
        self.db = accounts.db
        self.server = server
        self.settings = Settings.from_env(home=str(server.home))

    def actor(self, account) -> Actor:
        with self.db.session() as s:
            user = account_service.find_user(s, account.username)
            return Actor(user_id=user.id, username=user.username)

    def project(self, owner, name: str, workspace: str | None = None, public: bool = False,
                description: str = "") -> int:
        actor = self.actor(owner)
        with self.db.session() as s:
            ws = workspaces.find_by_name(s, workspace or owner.workspace)
            return projects.create(s, actor, ws.id, name, description, public).id

    def add_member(self, owner, member, role: str, workspace: str | None = None) -> None:
        with self.db.session() as s:
            ws = workspaces.find_by_name(s, workspace or owner.workspace)
            workspaces.add_collaborator(s, self.actor(owner), ws.id, member.username, role)

    def experiment(self, owner, project: str, name: str, *, workspace: str | None = None, file_name: str | None = None,
                   assets: tuple[tuple[str, str, bytes], ...] = (), archived: bool = False) -> str:
        """An experiment with a metric, optionally a script name and (type, name, bytes) assets."""
        actor = self.actor(owner)
        ws = workspace or owner.workspace
        with self.db.session() as s:
            exp, _ = ingest.start_experiment(s, actor, ws, project, name=name)
            batch = {"batch_id": uuid.uuid4().hex, "metrics": [{"name": "loss", "value": 0.5, "step": 1}],
                     "parameters": [{"name": "lr", "value": 0.1}]}
            if file_name:
                batch["details"] = {"file_name": file_name}
            ingest.apply_batch(s, actor, exp.key, batch)
            for kind, asset_name, data in assets:
                ingest.store_asset(s, actor, exp.key, data=data, type=kind, name=asset_name, settings=self.settings)
            key = exp.key
        if archived:
            self.archive(owner, ws, project, [key])
        return key

    def archive(self, owner, workspace: str, project: str, keys: list[str]) -> None:
        actor = self.actor(owner)
        with self.db.session() as s:
            p = projects.get_readable(s, actor, workspace, project)
            experiment_bulk.archive(s, actor, p, keys)
