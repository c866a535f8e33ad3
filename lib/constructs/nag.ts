import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Renders a string, tokens included, the way cdk-nag spells it in finding ids (its `flattenCfnReference`):
 * `Fn::Join` joined, `Ref` → `<Name>`, `Fn::GetAtt` → `<Id.Attr>`, `${X}` → `<X>`, `Fn::Sub` and
 * `Fn::ImportValue` → their argument rendered.
 *
 * Acknowledgements computed from the value a grant used cannot drift from the finding they answer.
 */
export function nagResourceName(scope: IConstruct, value: string): string {
  return nagRender(Stack.of(scope).resolve(value));
}

/** {@link nagResourceName} of a value already resolved (a template fragment). */
export function nagRender(node: unknown): string {
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (isRecord(node)) {
    const join = node['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map(nagRender).join(join[0]);
    }
    if (typeof node.Ref === 'string') return `<${node.Ref}>`;
    if (typeof node['Fn::Sub'] === 'string') return nagRender(node['Fn::Sub']);
    // An import is named by its export: the same string in every stack that imports it.
    if (typeof node['Fn::ImportValue'] === 'string') return nagRender(node['Fn::ImportValue']);
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.map(nagRender).join('.')}>`;
  }
  throw new Error(`cannot name ${JSON.stringify(node)} in a cdk-nag finding id`);
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

/**
 * Acknowledges `AwsSolutions-IAM5` wildcard-action findings on `scope` (the policy or role that holds the
 * statement), one per action pattern (`s3:GetObject*`): for grants a CDK construct makes itself.
 */
export function acknowledgeWildcardActions(
  scope: IConstruct,
  actions: readonly string[],
  reason: string,
): void {
  Validations.of(scope).acknowledge(
    ...actions.map((action) => ({ id: `AwsSolutions-IAM5[Action::${action}]`, reason })),
  );
}
