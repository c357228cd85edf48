"""Template loading: short and long intrinsic forms, pseudo parameters, overrides, Globals,
and errors that name the resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluoro.local.template import TemplateError, load_template

# The article's example as bundled with the demo (tests/test_demo.py checks it matches shared/seed/example).
SEED = Path(__file__).resolve().parents[2] / "fluoro" / "demo" / "seed_example" / "template.yaml"


def write(tmp_path: Path, body: str, handler: str = "app.py") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / handler).write_text("def handler(event, context):\n    return {}\n")
    path = tmp_path / "template.yaml"
    path.write_text(body)
    return path


FUNCTION = """
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
"""


def test_seed_template_resolves_like_cloudformation() -> None:
    template = load_template(SEED, stack_name="article-stack", region="ap-northeast-1")
    assert template.parameters == {"EnvironmentName": "xray-sample"}
    api = template.apis["ApiGateway"]
    assert (api.name, api.stage, api.tracing) == ("article-stack", "dev", True)
    assert template.tables["UserTable"].name == "xray-sample-users-table"
    assert template.buckets["UserFilesBucket"].name == "article-stack-user-files"
    fn = template.functions["ProcessUserFunction"]
    assert fn.name == "article-stack-ProcessUserFunction"
    assert (fn.handler, fn.runtime, fn.timeout, fn.tracing) == ("app.lambda_handler", "python3.9", 15.0, "Active")
    assert fn.environment == {"TABLE_NAME": "xray-sample-users-table", "BUCKET_NAME": "article-stack-user-files"}
    assert fn.code_dir == SEED.parent / "src"
    assert [(r.path, r.method, r.api_id) for r in fn.routes] == [("/users", "POST", "ApiGateway")]
    # !Sub with a resource reference and a pseudo parameter; !Ref of an API is its id.
    assert template.outputs["ApiEndpoint"] == (
        "https://%s.execute-api.ap-northeast-1.amazonaws.com/dev/users" % api.rest_api_id)
    assert len(api.rest_api_id) == 10
    # Policies and Architectures only matter on AWS; nothing in the seed goes unemulated.
    assert template.unsupported == []


def test_parameter_overrides_flow_into_names() -> None:
    template = load_template(SEED, overrides={"EnvironmentName": "prod"})
    assert template.tables["UserTable"].name == "prod-users-table"
    assert template.functions["ProcessUserFunction"].environment["TABLE_NAME"] == "prod-users-table"


def test_override_of_undeclared_parameter_is_refused() -> None:
    with pytest.raises(TemplateError, match="Nope"):
        load_template(SEED, overrides={"Nope": "x"})


def test_long_forms_globals_and_implicit_api(tmp_path: Path) -> None:
    path = write(tmp_path, """
Parameters:
  Suffix: {Type: String}
Globals:
  Function:
    Timeout: 7
    Tracing: Active
    Environment: {Variables: {SHARED: shared}}
  Api:
    TracingEnabled: true
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      Environment:
        Variables:
          TABLE: {"Ref": Table}
          ARN: {"Fn::GetAtt": [Table, Arn]}
          ARN2: !GetAtt Table.Arn
          JOINED: {"Fn::Join": ["-", [{"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}]]}
          SUBBED: {"Fn::Sub": ["${Name}-${AWS::StackName}", {Name: {"Ref": Suffix}}]}
          LITERAL: !Sub "${!NotAVariable}"
      Events:
        Get:
          Type: Api
          Properties: {Path: "/items/{id}", Method: get}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${Suffix}-table"
""")
    template = load_template(path, stack_name="st", region="eu-west-1", overrides={"Suffix": "abc"})
    fn = template.functions["Fn"]
    assert fn.timeout == 7 and fn.tracing == "Active"
    assert fn.environment == {
        "SHARED": "shared", "TABLE": "abc-table",
        "ARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/abc-table",
        "ARN2": "arn:aws:dynamodb:eu-west-1:123456789012:table/abc-table",
        "JOINED": "eu-west-1-123456789012", "SUBBED": "abc-st", "LITERAL": "${NotAVariable}"}
    implicit = template.apis["ServerlessRestApi"]
    assert (implicit.name, implicit.stage, implicit.tracing) == ("st", "Prod", True)


def test_parameter_without_default_needs_an_override(tmp_path: Path) -> None:
    path = write(tmp_path, "Parameters:\n  Env: {Type: String}\nResources:" + FUNCTION)
    with pytest.raises(TemplateError, match="Env has no Default"):
        load_template(path)


def test_unemulated_things_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:" + FUNCTION + """      ReservedConcurrentExecutions: 2
      Events:
        Nightly: {Type: Schedule, Properties: {Schedule: rate(1 day)}}
  Queue:
    Type: AWS::SQS::Queue
""")
    template = load_template(path)
    assert template.unsupported == ["Queue (AWS::SQS::Queue)", "Fn.ReservedConcurrentExecutions (function property)",
                                    "Fn.Events.Nightly (event type Schedule)"]


@pytest.mark.parametrize(("snippet", "message"), [
    ("      Environment: {Variables: {X: !Ref Missing}}\n", "Fn: Ref to unknown parameter or resource 'Missing'"),
    ("      Environment: {Variables: {X: !GetAtt Fn.Nope}}\n", "Fn: Fn::GetAtt Fn.Nope is not an attribute"),
    ("      Environment: {Variables: {X: !Select [0, [a]]}}\n", "Fn: intrinsic Fn::Select is not supported"),
    ("      Environment: {Variables: {X: !Sub [a, b, c]}}\n", "Fn: Fn::Sub needs"),
    ("      Events: {E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: !Ref Other}}}\n",
     "Fn: event RestApiId 'Other' is not an AWS::Serverless::Api"),
])
def test_bad_intrinsics_name_the_resource(tmp_path: Path, snippet: str, message: str) -> None:
    path = write(tmp_path, "Resources:" + FUNCTION + snippet)
    with pytest.raises(TemplateError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_template(path)


def test_missing_handler_module_names_the_function(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:" + FUNCTION.replace("app.handler", "missing.handler"))
    with pytest.raises(TemplateError, match=r"Fn: handler module missing\.py not found"):
        load_template(path)


def test_non_python_runtime_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:" + FUNCTION.replace("python3.11", "nodejs20.x"))
    with pytest.raises(TemplateError, match="Fn: runtime nodejs20.x is not supported"):
        load_template(path)


def test_not_yaml_and_no_resources(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("Resources: [unclosed\n")
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_template(bad)
    bad.write_text("Parameters: {}\n")
    with pytest.raises(TemplateError, match="no Resources section"):
        load_template(bad)
