"""Console: the orders list, the order page and its actions."""
