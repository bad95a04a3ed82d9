"""``loadrec serve``: SageMaker's recommendation-job API on loadrec's engine, for boto3 and the AWS CLI.

- ``config``: the server's configuration file (access keys, endpoint names, provisioner, payload roots)
- ``sigv4``: who signed a request (botocore's signer, AWS's clock-skew rule and error codes)
- ``protocol``: the JSON protocol: the operation, its checked parameters, answers and errors in AWS's shapes
- ``store``: the jobs in SQLite under the data directory
- ``intake``: an AWS request to the job the engine runs (the server fills in the ``Loadrec`` key)
- ``listing``: the list operations' filters, order and pages (pure)
- ``jobs``: accepting, running, stopping and describing jobs in the background; recovery after a restart
- ``operations``: what each operation answers
- ``app``, ``serve``: HTTP (the API and a read-only job list) and the command
- ``templates/``: the job list

Importing the package imports none of its modules.
"""

__all__ = ["app", "config", "intake", "jobs", "listing", "operations", "protocol", "serve", "sigv4", "store"]
