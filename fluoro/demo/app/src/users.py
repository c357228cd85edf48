"""The demo's users service: POST /users saves a user to DynamoDB and a profile file to
S3; GET /users/{userId} reads both back. It shows the three ways of instrumenting
with fluoro.core, as the article does with aws_xray_sdk: begin/end subsegments, nested
``in_subsegment`` blocks and the ``capture`` decorator; ``patch_all()`` traces boto3.

Two requests fail on purpose, as real ones do: a bad e-mail address is the caller's
mistake (400, an error, handled), and the ``enterprise`` plan hits a pricing bug
(KeyError, a fault recorded with its stack, answered with 500).
"""

import json
import os
import re
import uuid

import boto3

from fluoro.core import patch_all, xray_recorder

patch_all()

PRICES = {"free": 0, "pro": 12}  # the enterprise price was never added: the bug behind the 500s
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
dynamodb = boto3.resource("dynamodb")
s3 = boto3.client("s3")


class BadRequest(Exception):
    pass


def respond(status, body):
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def validate(body):
    """Style 1: begin_subsegment / end_subsegment by hand."""
    xray_recorder.begin_subsegment("validate")
    try:
        name, email = body.get("name"), body.get("email", "")
        if not name or not EMAIL.match(email):
            xray_recorder.put_annotation("invalid_field", "name" if not name else "email")
            raise BadRequest("a name and a valid email are required, got %r" % email)
        return name, email.lower()
    finally:
        xray_recorder.end_subsegment()


@xray_recorder.capture("price_plan")
def price_plan(plan):
    """Style 2: a decorated function; an exception is recorded on its subsegment with the stack."""
    return PRICES[plan]


def create_user(body):
    name, email = validate(body)
    plan = body.get("plan", "free")
    user_id = str(uuid.uuid4())
    # Style 3: nested in_subsegment blocks, with annotations (indexed, filterable) and metadata.
    with xray_recorder.in_subsegment("save_user") as subsegment:
        subsegment.put_annotation("plan", plan)
        subsegment.put_annotation("email_domain", email.split("@", 1)[1])
        monthly = price_plan(plan)
        subsegment.put_metadata("user", {"userId": user_id, "name": name, "monthly": monthly}, "fluoro-demo")
        dynamodb.Table(os.environ["USERS_TABLE"]).put_item(
            Item={"userId": user_id, "name": name, "email": email, "plan": plan, "monthly": monthly})
        with xray_recorder.in_subsegment("write_profile_file") as files:
            key = "users/%s/profile.json" % user_id
            files.put_metadata("s3_key", key, "fluoro-demo")
            s3.put_object(Bucket=os.environ["FILES_BUCKET"], Key=key,
                          Body=json.dumps({"name": name, "email": email}).encode())
    return respond(201, {"userId": user_id, "plan": plan, "monthly": monthly})


def get_user(user_id):
    with xray_recorder.in_subsegment("load_user") as subsegment:
        subsegment.put_annotation("user_id", user_id)
        item = dynamodb.Table(os.environ["USERS_TABLE"]).get_item(Key={"userId": user_id}).get("Item")
        if item is None:
            return respond(404, {"error": "no user %s" % user_id})
        obj = s3.get_object(Bucket=os.environ["FILES_BUCKET"], Key="users/%s/profile.json" % user_id)
        profile = json.loads(obj["Body"].read())
    return respond(200, {"userId": user_id, "plan": item["plan"], **profile})


def lambda_handler(event, context):
    method, user_id = event["httpMethod"], (event.get("pathParameters") or {}).get("userId")
    try:
        if method == "GET" and user_id:
            return get_user(user_id)
        try:
            body = json.loads(event.get("body") or "{}")
        except ValueError:
            raise BadRequest("the body is not JSON") from None
        return create_user(body if isinstance(body, dict) else {})
    except BadRequest as exc:
        return respond(400, {"error": str(exc)})
    except Exception:
        # Already on the trace (price_plan's subsegment has the exception and its stack).
        return respond(500, {"error": "internal error"})
