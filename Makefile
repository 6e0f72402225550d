# Two commands: `make run` and `make test`. Everything else is a detail of these.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export FLASK_APP := app

.PHONY: run test install clean bench

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/flask init-db
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/flask demo-logins
	$(BIN)/python -m app

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) instance/*.sqlite3 test-artifacts
