"""The contract-lint: ``lint`` (violation codes, severities, "did you mean"), ``report`` (text/JSON/JUnit reports)."""
