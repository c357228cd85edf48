"""Every X-Ray operation at its botocore path (POST, JSON body), implemented or not.

Keeping the full table lets an unimplemented operation answer an error that
names it, which botocore and the CLI show as such, instead of a bare 404.
"""

from __future__ import annotations

OPERATIONS: dict[str, str] = {
    "/TraceSegments": "PutTraceSegments",
    "/Traces": "BatchGetTraces",
    "/TraceSummaries": "GetTraceSummaries",
    "/ServiceGraph": "GetServiceGraph",
    "/TraceGraph": "GetTraceGraph",
    "/TimeSeriesServiceStatistics": "GetTimeSeriesServiceStatistics",
    "/GetSamplingRules": "GetSamplingRules",
    "/CreateSamplingRule": "CreateSamplingRule",
    "/UpdateSamplingRule": "UpdateSamplingRule",
    "/DeleteSamplingRule": "DeleteSamplingRule",
    "/SamplingTargets": "GetSamplingTargets",
    "/SamplingStatisticSummaries": "GetSamplingStatisticSummaries",
    "/CreateGroup": "CreateGroup",
    "/GetGroup": "GetGroup",
    "/Groups": "GetGroups",
    "/UpdateGroup": "UpdateGroup",
    "/DeleteGroup": "DeleteGroup",
    "/EncryptionConfig": "GetEncryptionConfig",
    "/PutEncryptionConfig": "PutEncryptionConfig",
    "/TelemetryRecords": "PutTelemetryRecords",
    "/TagResource": "TagResource",
    "/UntagResource": "UntagResource",
    "/ListTagsForResource": "ListTagsForResource",
    "/PutResourcePolicy": "PutResourcePolicy",
    "/ListResourcePolicies": "ListResourcePolicies",
    "/DeleteResourcePolicy": "DeleteResourcePolicy",
    "/Insight": "GetInsight",
    "/InsightEvents": "GetInsightEvents",
    "/InsightImpactGraph": "GetInsightImpactGraph",
    "/InsightSummaries": "GetInsightSummaries",
    "/GetTraceSegmentDestination": "GetTraceSegmentDestination",
    "/UpdateTraceSegmentDestination": "UpdateTraceSegmentDestination",
    "/StartTraceRetrieval": "StartTraceRetrieval",
    "/ListRetrievedTraces": "ListRetrievedTraces",
    "/GetRetrievedTracesGraph": "GetRetrievedTracesGraph",
    "/CancelTraceRetrieval": "CancelTraceRetrieval",
    "/GetIndexingRules": "GetIndexingRules",
    "/UpdateIndexingRule": "UpdateIndexingRule",
}
