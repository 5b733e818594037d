"""Deployment files; `check_deploy` is also imported by the tests of the production settings."""
