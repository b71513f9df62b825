# Every target bootstraps its own virtual environment (.venv) from pyproject.toml.
# Student:     make check [HW=hw1] [ONLY=exercise/check] [CASE="case id"]
# Instructor:  make demo · make test · make bench · make public-data
#              make batch HW=hw1 SUBMISSIONS=path OUT=grades/hw1 · make release · make autograder HW=hw1
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HW     ?=
ONLY   ?=
CASE   ?=
SUBMISSIONS ?=
OUT    ?= grades/$(HW)
JOBS   ?= auto
# `make check` is served by this checkout's warm grader (python -m grader warm status);
# GRADER_WARM=0 makes every run cold.
GRADER_WARM ?= 1

.PHONY: help check demo test bench bench-gradescope public-data notebooks clean batch release autograder

help:
	@echo "make check [HW=hw1]   run the public checks on assignments/ (students)"
	@echo "make demo             grade the example submissions under examples/"
	@echo "make test             run the project's own test suite"
	@echo "make bench            print grading speed figures"
	@echo "make bench-gradescope one grading per homework under Gradescope's limits (root: cgroups)"
	@echo "make public-data      rebuild the public checks' expected values (instructors)"
	@echo "make batch HW=hw1 SUBMISSIONS=dir-or-zip [OUT=grades/hw1]   grade a class"
	@echo "make release [HW=hw1]  write dist/student/ (stubs, public checks; no solutions)"
	@echo "make autograder HW=hw1 write dist/hw1_autograder.zip for Gradescope"
	@echo "make notebooks        rebuild assignments/*.ipynb from assignments/*.py (instructors)"

$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.core
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[torch,test,instructor,distributed]'
	@touch $@

check: $(VENV)/.core
	@GRADER_WARM=$(GRADER_WARM) $(PY) -m grader check $(HW) $(if $(ONLY),--only "$(ONLY)") $(if $(CASE),--case "$(CASE)")

demo: $(VENV)/.core
	$(PY) -m grader demo

test: $(VENV)/.dev
	$(PY) -m pytest -n $(JOBS) -q

bench: $(VENV)/.dev
	$(PY) bench/run.py

bench-gradescope: $(VENV)/.dev
	$(PY) bench/gradescope_limits.py $(HW)

public-data: $(VENV)/.dev
	$(PY) -m grader public-data $(HW)

$(VENV)/.instructor: $(VENV)/.core
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[instructor]'
	@touch $@

batch: $(VENV)/.instructor
	@test -n "$(HW)" -a -n "$(SUBMISSIONS)" || { echo "usage: make batch HW=hw1 SUBMISSIONS=dir-or-zip [OUT=grades/hw1]"; exit 2; }
	$(PY) -m grader batch $(HW) "$(SUBMISSIONS)" --out "$(OUT)"

release: $(VENV)/.core
	$(PY) -m grader release $(HW)

autograder: $(VENV)/.core
	@test -n "$(HW)" || { echo "usage: make autograder HW=hw1"; exit 2; }
	$(PY) -m grader autograder $(HW)
notebooks: $(VENV)/.dev
	$(PY) -m grader notebooks $(HW)

clean:
	-@test ! -x $(PY) || $(PY) -m grader warm stop
	rm -rf $(VENV) dist .pytest_cache
