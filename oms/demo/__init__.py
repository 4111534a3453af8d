"""The demo world: facilities, products, people, orders and store work for `make demo` (seed_demo)."""
