"""Tell whether an SQS message (Lambda event record) carries a sampled trace header."""

SAMPLED = "Sampled=1"


class SqsMessageHelper:
    @staticmethod
    def isSampled(sqs_message: dict) -> bool:  # noqa: N802 - upstream name
        attributes = sqs_message.get("attributes") or {}
        return "AWSTraceHeader" in attributes and SAMPLED in attributes["AWSTraceHeader"]
