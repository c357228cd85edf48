// Small drawn icons per node type, so a DynamoDB table and a Lambda function are told apart at a glance.

import { s } from "./dom.js";

export function nodeKind(type) {
  const t = String(type || "");
  if (t === "client") return "client";
  if (t.startsWith("AWS::ApiGateway")) return "apigw";
  if (t === "AWS::Lambda::Function") return "lambda-fn";
  if (t.startsWith("AWS::Lambda")) return "lambda";
  if (t.startsWith("AWS::DynamoDB")) return "dynamodb";
  if (t.startsWith("AWS::S3")) return "s3";
  if (t.startsWith("AWS::SQS")) return "sqs";
  if (t.startsWith("AWS::SNS")) return "sns";
  if (t.startsWith("Database::SQL") || t.includes("SQL")) return "sql";
  if (t === "remote" || t === "AWS::Remote") return "remote";
  if (t.startsWith("AWS::EC2")) return "ec2";
  if (t.startsWith("AWS::ECS") || t.startsWith("AWS::EKS")) return "container";
  if (t.startsWith("AWS::ElasticBeanstalk")) return "beanstalk";
  if (t.startsWith("AWS::StepFunctions")) return "stepfunctions";
  if (t.startsWith("AWS::")) return "aws";
  return "service";
}

const COLOURS = {
  client: "#5c6873", apigw: "#8c4fff", lambda: "#ed7100", "lambda-fn": "#ed7100", dynamodb: "#3b48cc", s3: "#3f8624",
  sqs: "#e7157b", sns: "#e7157b", sql: "#2e73b8", remote: "#6b7785", ec2: "#ed7100", container: "#ed7100",
  beanstalk: "#ed7100", stepfunctions: "#e7157b", aws: "#232f3e", service: "#1f6feb",
};

/** An icon drawn around (0,0) within a 28×28 box. */
export function icon(type) {
  const kind = nodeKind(type);
  const c = COLOURS[kind];
  const g = s("g", { class: `icon icon-${kind}`, "data-kind": kind });
  const text = (t, size = 13) => s("text", { x: 0, y: size / 3, "text-anchor": "middle", "font-size": size, "font-weight": 700, fill: c, style: "pointer-events:none" }, t);
  switch (kind) {
    case "client":
      g.append(s("circle", { cx: 0, cy: -5, r: 5, fill: c }), s("path", { d: "M-9,10 Q0,-2 9,10 Z", fill: c }));
      break;
    case "apigw":
      g.append(s("path", { d: "M-4,-9 L-10,0 L-4,9 M4,-9 L10,0 L4,9", stroke: c, "stroke-width": 2.4, fill: "none" }));
      break;
    case "lambda":
    case "lambda-fn":
      g.append(text("λ", 20));
      if (kind === "lambda") g.append(s("rect", { x: -11, y: -11, width: 22, height: 22, rx: 3, fill: "none", stroke: c, "stroke-width": 1.5 }));
      break;
    case "dynamodb":
    case "sql": {
      g.append(s("ellipse", { cx: 0, cy: -7, rx: 9, ry: 3.5, fill: "none", stroke: c, "stroke-width": 2 }),
        s("path", { d: "M-9,-7 L-9,7 A9,3.5 0 0 0 9,7 L9,-7", fill: "none", stroke: c, "stroke-width": 2 }));
      if (kind === "dynamodb") g.append(s("path", { d: "M-9,0 A9,3.5 0 0 0 9,0", fill: "none", stroke: c, "stroke-width": 1.5 }));
      else g.append(s("rect", { x: -8, y: 0, width: 16, height: 8, fill: "#fff" }), s("text", { x: 0, y: 7, "text-anchor": "middle", "font-size": 7, "font-weight": 700, fill: c }, "SQL"));
      break;
    }
    case "s3":
      g.append(s("path", { d: "M-9,-7 L-6,9 L6,9 L9,-7 Z", fill: "none", stroke: c, "stroke-width": 2 }), s("ellipse", { cx: 0, cy: -7, rx: 9, ry: 3, fill: "#fff", stroke: c, "stroke-width": 2 }));
      break;
    case "sqs":
      for (const x of [-9, -3, 3]) g.append(s("rect", { x, y: -5, width: 5, height: 10, fill: c }));
      g.append(s("path", { d: "M9,-5 L13,0 L9,5", fill: c }));
      break;
    case "sns":
      g.append(s("circle", { cx: -6, cy: 0, r: 3, fill: c }));
      for (const y of [-8, 0, 8]) g.append(s("path", { d: `M-3,0 L9,${y}`, stroke: c, "stroke-width": 2 }), s("circle", { cx: 9, cy: y, r: 2, fill: c }));
      break;
    case "remote":
      g.append(s("circle", { cx: 0, cy: 0, r: 9, fill: "none", stroke: c, "stroke-width": 1.8 }),
        s("ellipse", { cx: 0, cy: 0, rx: 4, ry: 9, fill: "none", stroke: c, "stroke-width": 1.4 }),
        s("path", { d: "M-9,0 L9,0", stroke: c, "stroke-width": 1.4 }));
      break;
    case "ec2":
      g.append(s("rect", { x: -8, y: -8, width: 16, height: 16, fill: "none", stroke: c, "stroke-width": 2 }), text("EC2", 7));
      break;
    case "container":
      g.append(s("rect", { x: -9, y: -6, width: 18, height: 12, fill: "none", stroke: c, "stroke-width": 2 }), s("path", { d: "M-3,-6 L-3,6 M3,-6 L3,6", stroke: c, "stroke-width": 1.5 }));
      break;
    case "beanstalk":
      g.append(s("path", { d: "M0,-10 Q-10,0 0,10 Q10,0 0,-10 Z", fill: "none", stroke: c, "stroke-width": 2 }));
      break;
    case "stepfunctions":
      g.append(s("circle", { cx: -6, cy: -6, r: 3, fill: c }), s("circle", { cx: 6, cy: 6, r: 3, fill: c }), s("path", { d: "M-6,-6 L-6,6 L6,6", stroke: c, "stroke-width": 2, fill: "none" }));
      break;
    case "aws":
      g.append(text("AWS", 8));
      break;
    default:
      g.append(s("rect", { x: -9, y: -9, width: 18, height: 18, rx: 4, fill: "none", stroke: c, "stroke-width": 2 }), s("circle", { cx: 0, cy: 0, r: 3, fill: c }));
  }
  g.append(s("title", {}, String(type || "service")));
  return g;
}
