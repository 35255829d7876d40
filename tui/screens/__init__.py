"""Modal screens of the app: help, re-cluster settings, messages and prompts."""
