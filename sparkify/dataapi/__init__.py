"""[CLUSTER] TRANSPORT = data-api: the toolkit's statements over the Redshift Data API (boto3 `redshift-data`),
with no network path to the warehouse's port and no database password.

`connection` gives a connection-like object whose transaction is one Data API session; `params` turns the
pipeline's psycopg2-style parameters into the Data API's named ones and measures statements against its size
limit; `results` types GetStatementResult's fields; `errors` makes a failed statement the database error it is.
"""
