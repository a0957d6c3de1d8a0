"""Tests of the plots: forest and funnel plots, their steps and their style."""
