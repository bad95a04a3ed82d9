"""The job's tests: one per endpoint configuration and each combination of its environment parameters.

As AWS does for an Advanced job, ``InputConfig.EndpointConfigurations[i]`` with
``EnvironmentParameterRanges.CategoricalParameterRanges`` (``[{Name, Value: [...]}]``)
gives one test per combination of the listed values. The order is fixed and documented:
the configurations in order; within one, the combinations as ``itertools.product`` lists
them over the parameters as written (the last parameter changes fastest), each
parameter's values as written. Test ``k`` is the k-th of that list, and
MaxNumberOfTests runs the first ones (the others are NOT_RUN, saying so).

Environment parameters need an endpoint loadrec creates (a provisioner): an endpoint
that already exists cannot be given another environment, so that combination is an
input error, not a silent no-op. Pure: built from the request's values alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loadrec.engine.job.environment_names import ENVIRONMENT_NAME
from loadrec.engine.job.problems import Problem, show

# A ceiling in both modes: a job of more tests than this is a typo in a range, not a plan.
MAX_TESTS = 1_000
RANGES = "EnvironmentParameterRanges"

Environment = tuple[tuple[str, str], ...]  # (name, value), in the parameters' order


@dataclass(frozen=True)
class TestCase:
    """Test ``index``: endpoint configuration ``configuration`` under ``environment``."""

    __test__ = False  # a name pytest would otherwise collect
    index: int
    configuration: int
    base_label: str  # the configuration's label
    environment: Environment = ()

    @property
    def label(self) -> str:
        if not self.environment:
            return self.base_label
        return f"{self.base_label} ({', '.join(f'{name}={value}' for name, value in self.environment)})"


def ranges_of(entry: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A validated configuration's parameters and their values, as written."""
    found = (entry.get(RANGES) or {}).get("CategoricalParameterRanges") or []
    return tuple((parameter["Name"], tuple(parameter["Value"])) for parameter in found)


def combinations(ranges: Sequence[tuple[str, Sequence[str]]]) -> list[Environment]:
    """Every combination of the values, in the documented order; one empty one without parameters."""
    names = [name for name, _ in ranges]
    return [tuple(zip(names, values, strict=True)) for values in itertools.product(*(v for _, v in ranges))]


def expand(labels: Sequence[str], ranges: Sequence[Sequence[tuple[str, Sequence[str]]]]) -> tuple[TestCase, ...]:
    """The tests of configurations labelled ``labels`` with these parameter ranges, numbered in order."""
    cases: list[TestCase] = []
    for configuration, (label, configured) in enumerate(zip(labels, ranges, strict=True)):
        for environment in combinations(configured):
            cases.append(TestCase(len(cases), configuration, label, environment))
    return tuple(cases)


def categorical_ranges(configurations: Any) -> Iterator[tuple[int, list[Any]]]:
    """(index, its CategoricalParameterRanges as given) of each configuration of a request not yet checked
    (a missing or malformed part is an empty list: the model's check names it)."""
    for index, entry in enumerate(configurations if isinstance(configurations, list) else []):
        ranges = entry.get(RANGES) if isinstance(entry, dict) else None
        parameters = ranges.get("CategoricalParameterRanges") if isinstance(ranges, dict) else None
        yield index, parameters if isinstance(parameters, list) else []


def range_problems(configurations: Any) -> list[Problem]:
    """What botocore's model does not check: names usable as environment names, no name twice, no NUL,
    and the ceiling on tests. Runs on any request (the model's problems are reported beside these)."""
    if not isinstance(configurations, list):
        return []
    found: list[Problem] = []
    tests = 0
    for index, parameters in categorical_ranges(configurations):
        path = f"InputConfig.EndpointConfigurations[{index}].{RANGES}.CategoricalParameterRanges"
        count, seen = 1, set()
        for number, parameter in enumerate(parameters):
            if not isinstance(parameter, dict):
                continue  # the model's problem
            name, values = parameter.get("Name"), parameter.get("Value")
            values = [v for v in values if isinstance(v, str)] if isinstance(values, list) else []
            if isinstance(name, str) and not ENVIRONMENT_NAME.fullmatch(name):
                found.append(
                    Problem(
                        f"{path}[{number}].Name", f"{show(name)} must be an environment name ([a-zA-Z_][a-zA-Z0-9_]*)"
                    )
                )
            elif isinstance(name, str) and name in seen:
                found.append(Problem(f"{path}[{number}].Name", f"{show(name)} is given twice"))
            if isinstance(name, str):  # any other value is the model's problem (a list cannot even be kept)
                seen.add(name)
            found += [
                Problem(f"{path}[{number}].Value[{position}]", "must not hold a NUL character")
                for position, value in enumerate(values)
                if "\x00" in value
            ]
            count *= max(len(values), 1)
        tests += count
    if tests > MAX_TESTS:
        found.append(
            Problem(
                "InputConfig.EndpointConfigurations",
                f"the environment parameter combinations make {tests} tests; at most {MAX_TESTS} are allowed",
            )
        )
    return found
