# svclab's own tests and the suites get the plugin from its pytest11 entry point
# (pip install -e .). The pytester fixture is for the plugin's own tests.
pytest_plugins = ["pytester"]
