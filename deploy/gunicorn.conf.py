"""gunicorn settings for bulletin (deploy/bulletin-web.service): `gunicorn -c gunicorn.conf.py`.

The app reads its own settings from the environment (EnvironmentFile= in the unit); this file
only says how to serve it. Behind one reverse proxy on the same host, set TRUSTED_PROXIES=1:
the app then takes the client's address and scheme from X-Forwarded-For and -Proto.
"""

import multiprocessing

# The factory, so the installed package is enough (no wsgi.py on the server).
wsgi_app = "bulletin:create_app()"
# Only the proxy on this host talks to gunicorn.
bind = "127.0.0.1:8000"
# Sync workers: each request is short (no long polling); more workers for more clients.
workers = min(2 * multiprocessing.cpu_count() + 1, 8)
worker_class = "sync"
timeout = 30
# On SIGTERM/SIGHUP a worker finishes its request first (a CSV upload can take a while).
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, staggered, so a slow leak never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# The heartbeat file lives in memory, not on a disk that may stall (PrivateTmp still applies).
worker_tmp_dir = "/dev/shm"
# Logs to stdout/stderr: journald keeps them (`journalctl -u bulletin-web`).
accesslog = "-"
errorlog = "-"
loglevel = "info"
# Access lines without the query string: emailed links carry tokens in it.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss "%(a)s"'
# Each worker opens its own database connections after the fork.
preload_app = False
proc_name = "bulletin-web"
# Recent gunicorn opens a control socket in $HOME by default; systemd reloads and stops it.
control_socket_disable = True
