// The sidecar `egressctl inject` adds is the one deploy/kubernetes/deployment.yaml ships,
// bundled into the binary as text: the manifests and inject cannot drift apart.
import { parse } from "yaml";
import deployment from "../../../deploy/kubernetes/deployment.yaml" with { type: "text" };
import { templateFrom, type Template } from "../../core/inject/sidecar.ts";

export function shippedTemplate(): Template {
  return templateFrom(parse(deployment));
}
