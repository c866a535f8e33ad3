import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Renders a string, tokens included, the way cdk-nag spells it in finding ids (its `flattenCfnReference`):
 * `Fn::Join` joined, `Ref` → `<Name>`, `Fn::GetAtt` → `<Id.Attr>`, `${X}` → `<X>`.
 *
 * Acknowledgements computed from the value a grant used cannot drift from the finding they answer.
 */
export function nagResourceName(scope: IConstruct, value: string): string {
  const render = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    if (isRecord(node)) {
      const join = node['Fn::Join'];
      if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
        return join[1].map(render).join(join[0]);
      }
      if (typeof node.Ref === 'string') return `<${node.Ref}>`;
      const getAtt = node['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `<${getAtt.map(render).join('.')}>`;
    }
    throw new Error(`cannot name ${JSON.stringify(node)} in a cdk-nag finding id`);
  };
  return render(Stack.of(scope).resolve(value));
}

/**
 * Acknowledges one `AwsSolutions-IAM5` wildcard-resource finding on `scope` (the policy or role that
 * holds the statement), for exactly `resource`.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagResourceName(scope, resource)}]`,
    reason,
  });
}
