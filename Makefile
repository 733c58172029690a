# tinbao — the two commands a fresh machine needs:
#   make run    set up ./.venv, migrate the embedded SQLite database, seed, serve :5000
#   make test   set up ./.venv with the test tools and run the whole suite (SQLite + PostgreSQL)
.PHONY: run test setup security run-prod

FLASK = .venv/bin/flask --app portal

setup:
	bash scripts/setup.sh classifier
	bash scripts/train-classifier.sh

run: setup
	$(FLASK) db upgrade heads
	$(FLASK) seed
	$(FLASK) run --host 127.0.0.1 --port 5000

test:
	bash scripts/test.sh

# bandit, pip-audit, sqlmap and wapiti against a throwaway local instance (docs/security.md);
# not part of `make test`. Reports in instance/security/.
security: setup
	bash scripts/security.sh

# The production topology on this machine: nginx (TLS) → gunicorn workers → the local PostgreSQL
# (database tinbao_prod) and Redis (db 7), plus a job worker; docs/deployment.md. Ctrl-C stops it.
run-prod:
	bash scripts/run-prod.sh
