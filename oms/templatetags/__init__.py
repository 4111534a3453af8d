"""Template filters of the app's pages."""
