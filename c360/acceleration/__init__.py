"""Acceleration: refreshed local copies of tables and views, used when they are fresh enough.

A catalog declares which tables or views to copy (:mod:`.declaration`); a refresh
(:mod:`.refresh`) reads the live answer and writes it into a DuckDB file under the
project's ``.c360/acceleration/`` (:mod:`.store`, atomically: a reader sees the
previous copy or the new one, never half of one); the planner reads a copy
(:mod:`.connector`) instead of the sources when its age is within the query's
``max_staleness`` (:mod:`.choose`), and EXPLAIN names the copy and its age.
"""
