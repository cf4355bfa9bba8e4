"""The Redshift Data API stand-in: the HTTP service (standin), the SQL text it reads back (sqltext), and a runner
of scripts with psycopg2.connect refused (guarded)."""
