"""The GitHub Action script and the pre-commit hook, run as CI would run them."""
