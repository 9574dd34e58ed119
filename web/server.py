"""`zhikong serve`: the pages (Django under waitress) and the watcher, in one process.

waitress is a production WSGI server in pure Python that runs on Linux and on Windows alike (the county
server may be either). It serves in the calling (main) thread; the watcher runs in a thread of its own
with a stop event. Ctrl-C or SIGTERM (turned into KeyboardInterrupt by the front end) ends waitress's
loop, which closes its workers; then the watcher is told to stop and joined.

On start the `[web]` table of zhikong.toml is read and checked first (a wrong value: a Chinese
SettingsError, nothing started), and once the port is ours the half-received uploads a stopped server left
in .zhikong/tmp/ are removed.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zhikong.app import Archive
from zhikong.archive.watcher import WatchOptions
from zhikong.errors import ConflictError
from zhikong.indexer.pii import mask_pii
from zhikong.web.accounts import Accounts
from zhikong.web.config import Clock, WebSettings, django_settings, load_web_settings

log = logging.getLogger("zhikong.serve")
MAX_BODY_BYTES = 64 * 1024**3  # 64 GB


def wsgi_application(root: Path, *, clock: Clock = time.time, web: WebSettings | None = None) -> Any:
    """Django configured for the archive at `root`; one archive per process (Django's settings are global).
    `web`: the `[web]` settings (read from root's zhikong.toml when not given)."""
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    system_dir = Archive.open(root).settings().system_dir
    if web is None:
        web = load_web_settings(root)
    (system_dir / "tmp").mkdir(parents=True, exist_ok=True)  # FILE_UPLOAD_TEMP_DIR
    with Accounts.open(system_dir) as accounts:
        secret = accounts.secret_key()
    if not settings.configured:
        settings.configure(**django_settings(root, secret_key=secret, clock=clock, web=web))
    elif Path(settings.ZHIKONG_ROOT) != Path(root):
        raise RuntimeError("one zhikong server process serves one archive")
    django.setup(set_prefix=False)
    return WSGIHandler()


class _MaskingFormatter(logging.Formatter):
    """serve.log is read by people: paths and names in it are masked like every printed line."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_pii(super().format(record))


def setup_log(system_dir: Path) -> Path:
    logs = system_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / "serve.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(_MaskingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    for name in ("zhikong", "waitress", "django"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return path


def serve(
    archive: Archive,
    actor: str,
    *,
    host: str,
    port: int,
    watch: WatchOptions,
    on_ready: Callable[[str], None] = lambda _url: None,
    web: WebSettings | None = None,
) -> None:
    """Serve the pages and watch the folder until KeyboardInterrupt (Ctrl-C, or SIGTERM made into one).
    `web`: the `[web]` settings when the caller has read them already (else read from zhikong.toml)."""
    from waitress import create_server

    from zhikong.archive.upload import clear_stale

    settings = archive.settings()
    if web is None:
        web = load_web_settings(settings.root)  # a wrong value stops here, before anything is started
    setup_log(settings.system_dir)
    app = wsgi_application(archive.root, web=web)
    try:
        # 4 threads: requests share one core (the GIL); more threads only queue work inside the process
        # (bench/serve_load.py: p95 784 ms with 8, 158 ms with 4, at 5,000 documents).
        # Request bodies: waitress's own cap is 1 GB, too small for a center's handover bundle; each view
        # checks its own limit (uploads: [web] upload_max_mb), so waitress only guards against the absurd.
        server = create_server(
            app, host=host, port=port, threads=4, ident="zhikong", max_request_body_size=MAX_BODY_BYTES
        )
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise ConflictError(
            f"网页端无法在 {host}:{port} 上启动：{exc.strerror or exc}",
            hint="端口可能已被占用（另一个 zhikong serve 或别的程序）：换一个 --port，或先停止占用它的程序；"
            "--host 须是本机的地址（或 0.0.0.0）。",
        ) from exc
    stop = threading.Event()

    def follow() -> None:
        try:
            archive.watch(actor, watch, stop=stop)
        except Exception:
            log.exception("监视线程出错，已停止监视；网页端继续运行。请检查后重启 zhikong serve。")

    watcher = threading.Thread(target=follow, name="zhikong-watch", daemon=True)
    url = f"http://{host}:{port}/"
    try:
        # Only once the port is ours (a second start on a taken port must not touch a running server's
        # uploads): what an upload left half-written when the last server stopped was never catalogued.
        removed = clear_stale(settings)
        if removed:
            log.info("已清除上次停止时未传完的上传临时文件 %d 个（.zhikong/tmp/）。", removed)
        watcher.start()
        log.info(
            "网页端已启动：%s（档案库 %s；上传上限 %d MB；https %s；可信代理 %s）",
            url,
            settings.root,
            web.upload_max_mb,
            "是" if web.https else "否",
            "、".join(web.trusted_proxies) or "无",
        )
        on_ready(url)
        server.run()  # returns once KeyboardInterrupt has ended the loop (waitress then closes its workers)
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM came before waitress's loop took over: the same clean stop
    finally:
        stop.set()
        server.close()
        if watcher.is_alive():
            watcher.join(timeout=60)
        log.info("网页端已停止。")
