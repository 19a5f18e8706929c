"""One writer per format, each reading result records (:mod:`..record`): JSON results, SARIF, the terminal
summary, JUnit, and the pytest-html and allure-pytest bridges."""
