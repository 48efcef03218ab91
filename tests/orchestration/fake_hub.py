"""A Hugging Face Hub on loopback, for tests that must run offline: the API routes and
headers `huggingface_hub` reads (dataset info at a revision, the recursive tree with LFS
sha256 and git blob ids, HEAD/GET of /resolve/ with ranges) and the Hub's error codes
(RepoNotFound, RevisionNotFound, GatedRepo)."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


@dataclass
class FakeRepo:
    commit: str
    files: dict[str, bytes]
    lfs: set[str] = field(default_factory=set)
    """Paths served as LFS files (the tree gives their sha256)."""
    gated: bool = False
    corrupt: set[str] = field(default_factory=set)
    """Paths whose served bytes differ from what the tree's checksums say."""


@dataclass
class FakeHub:
    repos: dict[str, FakeRepo]
    downloads: list[str] = field(default_factory=list)
    """Paths fetched with GET /resolve/ (every download, in order)."""
    resumed_at: dict[str, int] = field(default_factory=dict)
    """Per path, the byte a ranged GET started from (a resumed download)."""
    url: str = ""

    def __enter__(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                hub.answer(self, body=False)

            def do_GET(self) -> None:
                hub.answer(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request: BaseHTTPRequestHandler, body: bool) -> None:
        parts = [unquote(p) for p in urlsplit(request.path).path.strip("/").split("/")]
        if parts[:2] == ["api", "datasets"] and len(parts) >= 6:
            repo_id, route, revision = "/".join(parts[2:4]), parts[4], parts[5]
        elif parts[0] == "datasets" and len(parts) >= 6 and parts[3] == "resolve":
            repo_id, route, revision = "/".join(parts[1:3]), "resolve", parts[4]
        else:
            return self.send(request, 404, {"error": "no route"}, "EntryNotFound")
        repo = self.repos.get(repo_id)
        if repo is None:
            return self.send(request, 404, {"error": "Repository not found"}, "RepoNotFound")
        if repo.gated and not request.headers.get("authorization"):
            return self.send(
                request, 401, {"error": "Access to this dataset is restricted"}, "GatedRepo"
            )
        if revision not in (repo.commit, "main"):
            return self.send(request, 404, {"error": "Invalid rev id"}, "RevisionNotFound")
        if route == "revision":
            return self.send(request, 200, {"id": repo_id, "sha": repo.commit, "private": False})
        if route == "tree":
            return self.send(request, 200, [self.entry(repo, p) for p in sorted(repo.files)])
        path = "/".join(parts[5:])
        if path not in repo.files:
            return self.send(request, 404, {"error": "Entry not found"}, "EntryNotFound")
        data = repo.files[path]
        if path in repo.corrupt:
            data = data[::-1]
        start = 0
        ranged = request.headers.get("range", "")
        if ranged.startswith("bytes="):
            start = int(ranged.removeprefix("bytes=").split("-")[0] or 0)
        request.send_response(206 if start else 200)
        request.send_header("X-Repo-Commit", repo.commit)
        digest = self.entry(repo, path)
        request.send_header("ETag", f'"{digest.get("lfs", {}).get("oid") or digest["oid"]}"')
        request.send_header("Content-Length", str(len(data) - start))
        if start:
            request.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        request.end_headers()
        if body:
            self.downloads.append(path)
            if start:
                self.resumed_at[path] = start
            request.wfile.write(data[start:])

    @staticmethod
    def entry(repo: FakeRepo, path: str) -> dict:
        data = repo.files[path]
        blob = hashlib.sha1(f"blob {len(data)}\0".encode() + data, usedforsecurity=False)
        described = {"type": "file", "path": path, "size": len(data), "oid": blob.hexdigest()}
        if path in repo.lfs:
            lfs = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            described |= {"size": len(data), "lfs": lfs}
        return described

    @staticmethod
    def send(request: BaseHTTPRequestHandler, status: int, payload, code: str = "") -> None:
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        if code:
            request.send_header("X-Error-Code", code)
            request.send_header("X-Error-Message", payload.get("error", ""))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(data)
