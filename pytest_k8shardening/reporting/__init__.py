"""Report writers and bridges: SARIF, pytest-html, Allure."""
