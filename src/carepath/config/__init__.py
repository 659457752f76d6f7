"""Reading configuration: YAML files, settings from the environment, bundled resources."""
