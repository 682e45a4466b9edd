# hpc.slurm_vm - quick start on a fresh Debian 12 machine (as root):
#   make demo     build the local lab and show it working
#   make test     lint, sanity, unit and integration tests against the lab
SHELL := /bin/bash
VENV  ?= $(CURDIR)/.venv
BIN   := $(VENV)/bin
export HPCVM_VENV := $(VENV)
# The guests' DHCP server on the lab bridge (lab/vmlayer): dnsmasq, kea or dhcpd. Not remembered: a
# `make lab-up` (or any target that starts the lab) without DHCP= returns the lab to dnsmasq.
DHCP  ?= dnsmasq
# The backends e2e-dhcp-backends runs the one-VM end-to-end test with (dnsmasq: in e2e)
DHCP_BACKENDS ?= kea dhcpd

.PHONY: e2e e2e-dhcp-backends molecule molecule-podman molecule-lab help setup venv lab-images lab-disk-image lab-up lab-down lab-down-check lab-status demo lint ruff ansible-lint sanity units integration test bench clean

help:
	@sed -n 's/^\([a-z0-9-]*\):.*## \(.*\)/  make \1\t\2/p' $(MAKEFILE_LIST) | expand -t 28

setup: ## install Debian packages and the venv (idempotent)
	lab/setup

venv: setup

lab-images: setup ## build the fast guest's kernel + initramfs (cached in /var/cache/hpcvm-lab)
	lab/guest/build

lab-disk-image: setup ## build the disk-image guest (debootstrap Debian 12 qcow2 + its kernel; cached)
	lab/guest/build-disk-image

lab-up: lab-images ## start the local lab (idempotent; prints readiness and timings); DHCP=dnsmasq|kea|dhcpd serves the guests
	HPCVM_LAB_DHCP=$(DHCP) lab/up

lab-down: ## stop the lab; leaves no process, namespace, bridge or route
	lab/down

lab-down-check: lab-up ## boot a guest, stop the lab, check nothing is left (run last: the lab ends down)
	tests/integration/guest/check_lab_down_clean.sh

lab-status: ## one line per lab service
	lab/status

demo: lab-up ## the main job in the lab: a pending VM job gets a VM, runs in it, the VM is torn down
	@lab/status
	lab/demo

ruff: setup
	$(BIN)/ruff check .

ansible-lint: setup
	$(BIN)/ansible-lint --profile production

lint: ruff ansible-lint ## ruff and ansible-lint (production profile)

sanity: setup ## ansible-test sanity --local (offline workarounds in tests/run-sanity)
	tests/run-sanity

# pytest's exit code 5 means "no tests collected": not a failure here. -n 2: two pytest-xdist workers (the tests
# use only their own tmp_path; 268 s against 467 s in one process, measured on a busy 2-CPU machine).
units: setup ## unit tests (no lab needed)
	$(BIN)/pytest tests/unit -q -n 2 || [ $$? -eq 5 ]

# The disk image needs the Debian mirror: it is built here, in the host namespace, never from a test
# inside the lab namespace (no route out).
integration: lab-up lab-disk-image ## tests against the lab's real services, run inside the lab namespace
	lab/exec $(BIN)/pytest -q --durations=15 -o testpaths=tests/integration tests/integration || [ $$? -eq 5 ]

e2e: lab-up lab-disk-image ## end-to-end: the scheduler gives a pending job a VM and tears it down
	lab/exec $(BIN)/pytest -q --durations=15 -o testpaths=tests/e2e tests/e2e || [ $$? -eq 5 ]

# Each backend: the guests' DHCP server switched to it (lab/vmlayer, the only part of lab-up that depends on
# it: ~1 s), site.yml's preflight against it (the part of site.yml that reads slurm_vm_dhcp), then the one-VM
# test (it reads which server runs and checks that it served the VM and keeps nothing of it). Whatever
# happens, the guests' DHCP server is dnsmasq again at the end. (make lab-up DHCP=x does the same switch
# and reruns the whole of site.yml: ~100 s more per backend.)
e2e-dhcp-backends: lab-up ## the one-VM end-to-end test with Kea and ISC dhcpd serving the guests
	@rc=0; for d in $(DHCP_BACKENDS); do \
	  echo "== e2e with the guests' DHCP server $$d"; t=$$(date +%s); \
	  if HPCVM_LAB_DHCP=$$d lab/vmlayer up && lab/exec $(BIN)/ansible-playbook -i inventories/lab playbooks/site.yml \
	       --tags preflight >$${HPCVM_LAB_DIR:-/tmp/hpcvm-lab}/log/site-preflight-$$d.log 2>&1; then \
	    echo "== lab switched to $$d, site.yml preflight passed, in $$(( $$(date +%s) - t )) s"; t=$$(date +%s); \
	    lab/exec $(BIN)/pytest -q --durations=5 -o testpaths=tests/e2e tests/e2e/test_one_vm.py || rc=1; \
	    echo "== e2e with $$d: $$(( $$(date +%s) - t )) s"; \
	  else echo "== switching to $$d or its preflight failed (log/site-preflight-$$d.log)"; rc=1; fi; \
	done; \
	HPCVM_LAB_DHCP=dnsmasq lab/vmlayer up || rc=1; exit $$rc

molecule: molecule-podman molecule-lab ## every molecule scenario

molecule-podman: setup ## boot_provision in podman containers (no network); builds the local image once
	tests/molecule/run-podman

molecule-lab: lab-up ## spawn and teardown against the lab (delegated driver)
	tests/molecule/run-lab

# CI's steps, in this order: lint sanity units integration e2e e2e-dhcp-backends molecule, each timed. What they
# only need built starts first, in two background chains (lab-up, with the guest kernel and its site.yml run,
# then the molecule image and the podman scenario, which needs no lab; lab-disk-image: network, disk and about
# one CPU), beside lint, sanity and units (CPU-bound); their output is shown once those are done. Cold, this
# saves ~11 min (measured cold: lint+sanity+units 314 s, lab-up and the molecule image 178 s, the disk image
# 169 s, molecule-podman ~195 s); warm, the builds are cache checks. As a plain make does, it stops at the
# first failing step, each chain counted as a step and awaited.
# (make -n runs this recipe too, for its sub-makes: then the one command that is not a make only prints)
test: MOLECULE_IMAGE = $(if $(findstring n,$(firstword -$(MAKEFLAGS))),echo lab/molecule-image,lab/molecule-image)
test: setup ## everything CI runs
	@t0=$$(date +%s); \
	step() { local t=$$(date +%s) r=0; "$$@" || r=$$?; \
	  echo "== make test: $${*: -1}: exit $$r in $$(( $$(date +%s) - t )) s ($$(( $$(date +%s) - t0 )) s since the start)"; return $$r; }; \
	a=$$(mktemp /tmp/hpcvm-test-lab-up.XXXXXX); b=$$(mktemp /tmp/hpcvm-test-disk-image.XXXXXX); \
	{ step $(MAKE) --no-print-directory lab-up && step $(MOLECULE_IMAGE) \
	  && step $(MAKE) --no-print-directory molecule-podman; } >"$$a" 2>&1 & pa=$$!; \
	step $(MAKE) --no-print-directory lab-disk-image >"$$b" 2>&1 & pb=$$!; \
	rc=0; { step $(MAKE) --no-print-directory lint && step $(MAKE) --no-print-directory sanity \
	        && step $(MAKE) --no-print-directory units; } || rc=$$?; \
	ra=0; wait $$pa || ra=$$?; rb=0; wait $$pb || rb=$$?; \
	echo "== in the background: make lab-up, then lab/molecule-image and make molecule-podman: exit $$ra"; cat "$$a"; \
	echo "== in the background: make lab-disk-image: exit $$rb"; cat "$$b"; rm -f "$$a" "$$b"; \
	[ $$rc -eq 0 ] && [ $$ra -eq 0 ] && [ $$rb -eq 0 ] || exit 1; \
	for s in integration e2e e2e-dhcp-backends molecule-lab; do step $(MAKE) --no-print-directory $$s || exit 1; done

# Not part of `test`: timings on a shared machine are noisy. Needs the lab up (make lab-up).
# BENCH="planner vm_path" runs only those; HPCVM_BENCH_RUNS sets the runs of each (at least 3);
# BENCH_TABLE=FILE also writes the final table to FILE.
bench: ## every benchmark in the lab, one table (median, min, max, target); fails on a missed target
	lab/exec $(BIN)/python tests/bench/run_all.py $(if $(BENCH_TABLE),--table $(BENCH_TABLE)) $(BENCH)

clean: ## remove caches (not the lab: see lab-down)
	rm -rf tests/output .pytest_cache .ruff_cache
