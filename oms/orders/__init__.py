"""Orders as a whole: approval, cancelling an order or some of its lines."""
