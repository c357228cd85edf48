"""The demo's bulk import: POST /imports writes a list of users, one PutItem each, into
a table provisioned for one write per second. DynamoDB throttles the burst
(ProvisionedThroughputExceededException); the function stops and answers 429 with
Retry-After so the caller slows down, as API clients expect."""

import json
import os

import boto3
from botocore.config import Config

from fluoro.core import patch_all, xray_recorder

patch_all()

# One attempt: the import reports the throttle to its caller instead of retrying inside the Lambda.
table = boto3.resource("dynamodb", config=Config(retries={"total_max_attempts": 1})).Table(os.environ["IMPORTS_TABLE"])


def lambda_handler(event, context):
    users = json.loads(event.get("body") or "{}").get("users", [])
    imported = 0
    with xray_recorder.in_subsegment("import_users") as subsegment:
        subsegment.put_annotation("batch_size", len(users))
        for user in users:
            try:
                table.put_item(Item={"email": user["email"], "name": user.get("name", "")})
            except table.meta.client.exceptions.ProvisionedThroughputExceededException:
                subsegment.put_annotation("throttled_after", imported)
                return {"statusCode": 429, "headers": {"Retry-After": "1", "Content-Type": "application/json"},
                        "body": json.dumps({"imported": imported, "error": "throttled by DynamoDB, retry later"})}
            imported += 1
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({"imported": imported})}
