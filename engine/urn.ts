/**
 * URNs the way the real engine builds them: `urn:pulumi:STACK::PROJECT::QUALIFIED_TYPE::NAME`, where
 * a child's type is prefixed by its parent's qualified type (`Parent$Child`) unless the parent is the
 * root stack. The SDK takes URNs from the engine, so getting this right keeps them identical to
 * what `pulumi up` would record.
 */
export const rootStackType = "pulumi:pulumi:Stack";

export function makeUrn(stack: string, project: string, parentUrn: string, type: string, name: string): string {
  let qualified = type;
  if (parentUrn) {
    const parentType = urnQualifiedType(parentUrn);
    if (parentType !== rootStackType) qualified = `${parentType}$${type}`;
  }
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

function urnParts(urn: string): string[] {
  const parts = urn.split("::");
  if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) throw new Error(`malformed URN ${JSON.stringify(urn)}`);
  return parts;
}

export function urnQualifiedType(urn: string): string {
  return urnParts(urn)[2];
}

/** The resource's own type: the last segment of the qualified type. */
export function urnType(urn: string): string {
  const q = urnQualifiedType(urn).split("$");
  return q[q.length - 1];
}

export function urnName(urn: string): string {
  return urnParts(urn).slice(3).join("::");
}
