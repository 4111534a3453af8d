"""The brokering benchmark (`make bench`): a world of demo shape scaled up, the runs, and a reference oracle."""
