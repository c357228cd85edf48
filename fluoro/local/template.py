"""SAM/CloudFormation template loading: YAML short tags, parameters, ``Globals`` and the
intrinsics the emulator needs, resolved to plain Python values.

Everything the emulator cannot run is collected in ``Template.unsupported`` by logical
id and type, so start-up can name it instead of silently ignoring it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
SUPPORTED_TYPES = {
    "AWS::Serverless::Api",
    "AWS::Serverless::Function",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
}
# Function properties that only matter for permissions or packaging on AWS.
IGNORED_FUNCTION_PROPERTIES = {"Architectures", "Policies", "Role", "MemorySize", "Description", "Tags",
                               "Layers", "AutoPublishAlias", "PackageType"}
KNOWN_FUNCTION_PROPERTIES = IGNORED_FUNCTION_PROPERTIES | {
    "CodeUri", "Handler", "Runtime", "Timeout", "Tracing", "Environment", "Events", "FunctionName"}


class TemplateError(ValueError):
    """A template the emulator cannot load; the message names the resource."""


class _Tag:
    """A CloudFormation short-form tag (``!Ref X``) kept until resolution."""

    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value

    def __repr__(self) -> str:
        return "!%s %r" % (self.name, self.value)


class _Loader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    key = "Ref" if suffix == "Ref" else "Fn::" + suffix
    return {key: value}


_Loader.add_multi_constructor("!", _construct_tag)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


@dataclass
class ApiRoute:
    path: str  # "/users/{id}" as written in the template
    method: str  # upper case, or "ANY"
    api_id: str  # logical id of the API


@dataclass
class LocalApiDef:
    logical_id: str
    name: str
    stage: str
    tracing: bool
    rest_api_id: str


@dataclass
class FunctionDef:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    runtime: str
    timeout: float
    tracing: str  # "Active" or "PassThrough"
    environment: dict[str, str]
    routes: list[ApiRoute] = field(default_factory=list)


@dataclass
class TableDef:
    logical_id: str
    name: str
    properties: dict[str, Any]


@dataclass
class BucketDef:
    logical_id: str
    name: str


@dataclass
class Template:
    path: Path
    stack_name: str
    region: str
    parameters: dict[str, str]
    apis: dict[str, LocalApiDef]
    functions: dict[str, FunctionDef]
    tables: dict[str, TableDef]
    buckets: dict[str, BucketDef]
    outputs: dict[str, Any]
    unsupported: list[str]


def _rest_api_id(stack: str, logical_id: str) -> str:
    """Stable 10-character id shaped like API Gateway's."""
    digest = hashlib.sha1(("%s/%s" % (stack, logical_id)).encode()).hexdigest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[int(digest[i:i + 2], 16) % 36] for i in range(0, 20, 2))


class _Resolver:
    """Resolves intrinsics against parameters, pseudo parameters and resource names."""

    def __init__(self, pseudo: dict[str, str], parameters: dict[str, str]) -> None:
        self.pseudo = pseudo
        self.parameters = parameters
        self.refs: dict[str, str] = {}  # logical id -> what !Ref returns
        self.attrs: dict[tuple[str, str], str] = {}
        self.where = ""

    def fail(self, message: str) -> TemplateError:
        return TemplateError("%s: %s" % (self.where, message) if self.where else message)

    def ref(self, name: Any) -> str:
        if not isinstance(name, str):
            raise self.fail("Ref needs a name, got %r" % (name,))
        for table in (self.pseudo, self.parameters, self.refs):
            if name in table:
                return table[name]
        raise self.fail("Ref to unknown parameter or resource %r" % name)

    def get_att(self, value: Any) -> str:
        if isinstance(value, str):
            value = value.split(".", 1)
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            raise self.fail("Fn::GetAtt needs [LogicalId, Attribute], got %r" % (value,))
        key = (value[0], value[1])
        if key not in self.attrs:
            raise self.fail("Fn::GetAtt %s.%s is not an attribute the emulator knows" % key)
        return self.attrs[key]

    def sub(self, value: Any) -> str:
        variables: dict[str, Any] = {}
        if isinstance(value, list):
            if len(value) != 2 or not isinstance(value[0], str) or not isinstance(value[1], dict):
                raise self.fail("Fn::Sub needs a string or [string, {variables}], got %r" % (value,))
            value, variables = value[0], {k: self.resolve(v) for k, v in value[1].items()}
        if not isinstance(value, str):
            raise self.fail("Fn::Sub needs a string, got %r" % (value,))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self.get_att(name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, value)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(self.resolve(arg))
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::GetAtt":
                return self.get_att(self.resolve(arg))
            if key == "Fn::Join":
                if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list)):
                    raise self.fail("Fn::Join needs [delimiter, [values]], got %r" % (arg,))
                return str(arg[0]).join(str(self.resolve(v)) for v in arg[1])
            if key.startswith("Fn::"):
                raise self.fail("intrinsic %s is not supported by the emulator" % key)
        return {k: self.resolve(v) for k, v in value.items()}


def _merge_globals(globals_: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    merged = dict(globals_)
    for key, value in props.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_globals(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_template(path: str | Path, stack_name: str = "sam-app", region: str = "us-east-1",
                  overrides: dict[str, str] | None = None) -> Template:
    """Read ``path`` and resolve it into what the emulator runs."""
    path = Path(path)
    try:
        doc = load_yaml(path.read_text())
    except OSError as exc:
        raise TemplateError("cannot read template %s: %s" % (path, exc)) from exc
    except yaml.YAMLError as exc:
        raise TemplateError("template %s is not valid YAML: %s" % (path, exc)) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise TemplateError("template %s has no Resources section" % path)
    resources: dict[str, Any] = doc["Resources"]
    overrides = dict(overrides or {})

    declared = doc.get("Parameters") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError("parameter override for undeclared parameter(s): %s" % ", ".join(unknown))
    parameters: dict[str, str] = {}
    for name, spec in declared.items():
        if name in overrides:
            parameters[name] = overrides[name]
        elif isinstance(spec, dict) and "Default" in spec:
            parameters[name] = str(spec["Default"])
        else:
            raise TemplateError("parameter %s has no Default; pass --parameter-overrides %s=..." % (name, name))
    pseudo = {"AWS::StackName": stack_name, "AWS::Region": region, "AWS::AccountId": ACCOUNT_ID,
              "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": ""}
    resolver = _Resolver(pseudo, parameters)

    globals_ = doc.get("Globals") or {}
    function_globals = globals_.get("Function") or {}
    api_globals = globals_.get("Api") or {}
    unsupported: list[str] = []
    typed: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or "Type" not in resource:
            raise TemplateError("%s: resource has no Type" % logical_id)
        rtype = resource["Type"]
        props = resource.get("Properties") or {}
        if not isinstance(props, dict):
            raise TemplateError("%s: Properties must be a mapping" % logical_id)
        if rtype not in SUPPORTED_TYPES:
            unsupported.append("%s (%s)" % (logical_id, rtype))
            continue
        if rtype == "AWS::Serverless::Function":
            props = _merge_globals(function_globals, props)
        elif rtype == "AWS::Serverless::Api":
            props = _merge_globals(api_globals, props)
        typed[logical_id] = (rtype, props)

    # Names first (resolving only each resource's own name property), so !Ref works in any order.
    arn = "arn:aws:%s:" + region + ":" + ACCOUNT_ID + ":%s"
    names: dict[str, str] = {}
    for logical_id, (rtype, props) in typed.items():
        resolver.where = logical_id
        if rtype == "AWS::Serverless::Function":
            name = resolver.resolve(props.get("FunctionName")) or "%s-%s" % (stack_name, logical_id)
            resolver.attrs[(logical_id, "Arn")] = arn % ("lambda", "function:" + name)
        elif rtype == "AWS::Serverless::Api":
            name = resolver.resolve(props.get("Name")) or stack_name
            rest_id = _rest_api_id(stack_name, logical_id)
            resolver.attrs[(logical_id, "RootResourceId")] = rest_id[::-1]
            names[logical_id + ".rest_id"] = rest_id
            resolver.refs[logical_id] = rest_id  # !Ref of an API is its rest API id
        elif rtype == "AWS::DynamoDB::Table":
            name = resolver.resolve(props.get("TableName")) or "%s-%s" % (stack_name, logical_id)
            resolver.attrs[(logical_id, "Arn")] = arn % ("dynamodb", "table/" + name)
        else:
            name = resolver.resolve(props.get("BucketName")) or ("%s-%s" % (stack_name, logical_id)).lower()
            resolver.attrs[(logical_id, "Arn")] = "arn:aws:s3:::" + name
            resolver.attrs[(logical_id, "DomainName")] = name + ".s3.amazonaws.com"
        names[logical_id] = name
        if rtype != "AWS::Serverless::Api":
            resolver.refs[logical_id] = name

    apis: dict[str, LocalApiDef] = {}
    functions: dict[str, FunctionDef] = {}
    tables: dict[str, TableDef] = {}
    buckets: dict[str, BucketDef] = {}
    for logical_id, (rtype, props) in typed.items():
        resolver.where = logical_id
        if rtype == "AWS::Serverless::Api":
            resolved = resolver.resolve(props)
            if "StageName" not in resolved:
                raise TemplateError("%s: AWS::Serverless::Api needs a StageName" % logical_id)
            apis[logical_id] = LocalApiDef(logical_id, names[logical_id], str(resolved["StageName"]),
                                           bool(resolved.get("TracingEnabled", False)), names[logical_id + ".rest_id"])
        elif rtype == "AWS::DynamoDB::Table":
            tables[logical_id] = TableDef(logical_id, names[logical_id], resolver.resolve(props))
        elif rtype == "AWS::S3::Bucket":
            buckets[logical_id] = BucketDef(logical_id, names[logical_id])
        else:
            functions[logical_id] = _function(logical_id, names[logical_id], props, resolver, path.parent, unsupported)

    # Events without RestApiId go to SAM's implicit API.
    for function in functions.values():
        for route in function.routes:
            if route.api_id == "ServerlessRestApi" and "ServerlessRestApi" not in apis:
                apis["ServerlessRestApi"] = LocalApiDef(
                    "ServerlessRestApi", stack_name, "Prod", bool(resolver.resolve(api_globals.get("TracingEnabled", False))),
                    _rest_api_id(stack_name, "ServerlessRestApi"))
                resolver.refs["ServerlessRestApi"] = apis["ServerlessRestApi"].rest_api_id
            elif route.api_id not in apis:
                raise TemplateError("%s: event RestApiId %r is not an AWS::Serverless::Api in this template"
                                    % (function.logical_id, route.api_id))

    outputs: dict[str, Any] = {}
    for name, spec in (doc.get("Outputs") or {}).items():
        resolver.where = "Outputs." + name
        try:
            outputs[name] = resolver.resolve((spec or {}).get("Value"))
        except TemplateError as exc:
            unsupported.append("output %s (%s)" % (name, exc))
    return Template(path, stack_name, region, parameters, apis, functions, tables, buckets, outputs, unsupported)


def _function(logical_id: str, name: str, props: dict[str, Any], resolver: _Resolver, base: Path,
              unsupported: list[str]) -> FunctionDef:
    for key in props:
        if key not in KNOWN_FUNCTION_PROPERTIES:
            unsupported.append("%s.%s (function property)" % (logical_id, key))
    for key in ("CodeUri", "Handler", "Runtime"):
        if key not in props:
            raise TemplateError("%s: AWS::Serverless::Function needs %s" % (logical_id, key))
    runtime = str(resolver.resolve(props["Runtime"]))
    if not runtime.startswith("python"):
        raise TemplateError("%s: runtime %s is not supported (python only)" % (logical_id, runtime))
    code_uri = resolver.resolve(props["CodeUri"])
    if not isinstance(code_uri, str):
        raise TemplateError("%s: CodeUri must be a local directory, got %r" % (logical_id, code_uri))
    code_dir = (base / code_uri).resolve()
    if not code_dir.is_dir():
        raise TemplateError("%s: CodeUri %s is not a directory" % (logical_id, code_dir))
    handler = str(resolver.resolve(props["Handler"]))
    if "." not in handler:
        raise TemplateError("%s: Handler %r must be module.function" % (logical_id, handler))
    module = handler.rsplit(".", 1)[0].replace(".", "/")
    if not ((code_dir / (module + ".py")).is_file() or (code_dir / module / "__init__.py").is_file()):
        raise TemplateError("%s: handler module %s.py not found in %s" % (logical_id, module, code_dir))
    tracing = str(resolver.resolve(props.get("Tracing", "PassThrough")))
    if tracing not in ("Active", "PassThrough", "Disabled"):
        raise TemplateError("%s: Tracing must be Active or PassThrough, got %r" % (logical_id, tracing))
    variables = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
    function = FunctionDef(logical_id, name, code_dir, handler, runtime, float(resolver.resolve(props.get("Timeout", 3))),
                           "PassThrough" if tracing == "Disabled" else tracing,
                           {str(k): str(v) for k, v in variables.items()})
    for event_id, event in (props.get("Events") or {}).items():
        if not isinstance(event, dict) or event.get("Type") != "Api":
            kind = event.get("Type") if isinstance(event, dict) else event
            unsupported.append("%s.Events.%s (event type %s)" % (logical_id, event_id, kind))
            continue
        eprops = event.get("Properties") or {}
        if "Path" not in eprops or "Method" not in eprops:
            raise TemplateError("%s: Api event %s needs Path and Method" % (logical_id, event_id))
        api_ref = eprops.get("RestApiId")
        if isinstance(api_ref, dict) and set(api_ref) == {"Ref"}:
            api_id = api_ref["Ref"]
        elif api_ref is None:
            api_id = "ServerlessRestApi"
        else:
            raise TemplateError("%s: event %s RestApiId must be !Ref to an API" % (logical_id, event_id))
        method = str(resolver.resolve(eprops["Method"])).upper()
        function.routes.append(ApiRoute(str(resolver.resolve(eprops["Path"])), "ANY" if method == "ANY" else method, api_id))
    return function
