"""Property tests: laws and stability of the estimators and models, checked with Hypothesis."""
