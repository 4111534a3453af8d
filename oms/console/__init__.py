"""The operations console (`/console/…`): head office runs the network from here.

Operations staff only: every console URL answers 404 to anyone else (`console_view`). Three areas, each a
package with its own `urls.py`, views and reads; they change data only through the existing services:
- `orders/`: the orders list and the order page (lines, requests, jobs, shipments, timeline, actions);
- `network/`: queues, brokering runs and their schedules, routing rules;
- `ops/`: the dashboard, the outbox, feeds, facilities.
"""
