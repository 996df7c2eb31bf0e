# One recipe per task. `make demo` and `make test` each do all their own set-up.
AS_OF := 2026-03-31
PORT ?= 8000
# A synthetic participant with goals, points and vouchers by AS_OF, who signs in at /me.
DEMO_PARTICIPANT := AMK-00009
MKDEAL := .venv/bin/mkdeal --as-of $(AS_OF)

.PHONY: install demo test lint format clean-data

install:
	@uv=$$(./scripts/ensure-uv) && "$$uv" sync --frozen --extra spark --quiet

demo: install  ## run everything on embedded defaults (data in ./data), ending with the web service
	$(MKDEAL) db upgrade
	$(MKDEAL) deal show
	$(MKDEAL) datasets list
	$(MKDEAL) synth --load
	$(MKDEAL) programme budget add 250000 --once --note "Demo: Active MK reward budget"
	$(MKDEAL) programme synth
	$(MKDEAL) programme synth-activity
	$(MKDEAL) programme vouchers synth data/demo-voucher-codes.txt --count 2000
	$(MKDEAL) programme vouchers load data/demo-voucher-codes.txt --value 10
	$(MKDEAL) loads
	$(MKDEAL) run-due --dry-run
	$(MKDEAL) run-due
	$(MKDEAL) measures list
	$(MKDEAL) measures compute --measure flow.handovers_over_30_minutes \
		--measure flow.ucr_two_hour_response --from 2025-04-01
	$(MKDEAL) config
	$(MKDEAL) users add demo-admin --name "Demo administrator" --organisation QHG \
		--role administrator --generate-password --exist-ok
	$(MKDEAL) users set-password demo-admin --generate-password
	$(MKDEAL) users add demo-staff --name "Demo programme staff" --organisation QHG \
		--role programme_staff --generate-password --exist-ok
	$(MKDEAL) users set-password demo-staff --generate-password
	$(MKDEAL) users add demo-clinician --name "Demo clinician" --organisation RD8 \
		--role clinician --generate-password --exist-ok
	$(MKDEAL) users set-password demo-clinician --generate-password
	$(MKDEAL) users add demo-participant --name "Demo participant" --organisation QHG \
		--role participant --generate-password --exist-ok
	$(MKDEAL) users set-password demo-participant --generate-password
	$(MKDEAL) programme account $(DEMO_PARTICIPANT) demo-participant
	$(MKDEAL) programme reconcile
	$(MKDEAL) serve --host 127.0.0.1 --port $(PORT)

test:  ## everything CI runs: install, lint, unit, PostgreSQL; phase timings and slowest tests
	@./scripts/test

lint: install
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

clean-data:  ## forget the demo's data folder (keys included)
	rm -rf data
