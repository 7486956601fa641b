"""The workloads of the suite, one module each; ``run.py`` lists them in table order."""
