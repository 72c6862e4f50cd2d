"""The dashboard's SQL, one statement per figure, all parameterised by store
and by UTC instants computed from the store's local days (see
`siprems.calendar.locale`), so every scan of `transactions` is a range on
the (store_id, transaction_date) index.

A dashboard "transaction" is one checkout: the lines sharing a checkout_id
count once; a line without one (single sale, import) counts on its own.
Kept as module constants so `benchmarks/dashboard_bench.py` can EXPLAIN them.
"""

from __future__ import annotations

STOCK_COMPARISON_SIZE = 5  # the earlier backend sent 5 products; now the 5 most urgent (siprems.inventory)
DEMAND_WINDOW_DAYS = 28  # average daily demand shown is measured over the last 4 weeks

# Current [start, end) and previous [prev_start, start) in one scan: one row
# per period (`current` true/false; a period without sales has no row).
# Grouping by checkout first is about twice as fast as count(DISTINCT ...)
# with FILTERs (a hash aggregate instead of two sorts of every line).
PERIOD_TOTALS = """
SELECT current,
       sum(CASE WHEN checkout_id IS NULL THEN lines ELSE 1 END) AS transactions,
       sum(items) AS items,
       sum(revenue) AS revenue
  FROM (SELECT transaction_date >= %(start)s AS current, checkout_id, count(*) AS lines,
               sum(quantity_sold) AS items, sum(quantity_sold * price_per_unit) AS revenue
          FROM transactions
         WHERE store_id = %(store)s AND transaction_date >= %(prev_start)s AND transaction_date < %(end)s
         GROUP BY 1, 2) per_checkout
 GROUP BY current
"""

# Units, revenue and checkouts per local day in [start, end) (today's row gives the cards).
DAILY = """
SELECT (transaction_date AT TIME ZONE %(tz)s)::date AS day,
       sum(quantity_sold) AS units,
       sum(quantity_sold * price_per_unit) AS revenue,
       count(DISTINCT checkout_id) + count(*) FILTER (WHERE checkout_id IS NULL) AS transactions
  FROM transactions
 WHERE store_id = %(store)s AND transaction_date >= %(start)s AND transaction_date < %(end)s
 GROUP BY 1
"""

# Units sold per product over the demand window [since, end), for the given products.
SOLD_BY_PRODUCT = """
SELECT product_id, sum(quantity_sold) AS sold
  FROM transactions
 WHERE store_id = %(store)s AND product_id = ANY(%(ids)s)
   AND transaction_date >= %(since)s AND transaction_date < %(end)s
 GROUP BY product_id
"""

CATEGORY_SALES = """
SELECT p.category, sum(t.quantity_sold * t.price_per_unit) AS revenue, sum(t.quantity_sold) AS units
  FROM transactions t JOIN products p ON p.product_id = t.product_id
 WHERE t.store_id = %(store)s AND t.transaction_date >= %(start)s AND t.transaction_date < %(end)s
 GROUP BY p.category
 ORDER BY revenue DESC, p.category
"""
