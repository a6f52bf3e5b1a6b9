/**
 * What CloudFormation makes of an expression at deploy time, for the intrinsic functions the
 * library's user data uses: `Ref` and `Fn::GetAtt` from the given values, `Fn::Join`, `Fn::Select`,
 * `Fn::Split`, `Fn::Base64` (of the UTF-8 text), `Fn::Sub` without variables maps. Anything else
 * throws, so a template the evaluator does not understand fails the test instead of passing it.
 */
export interface DeployTimeValuesMap {
  /** `Ref` values by logical id (parameters, resources, pseudo parameters). */
  readonly refs: { readonly [logicalId: string]: unknown };
  /** `Fn::GetAtt` values by `LogicalId.Attribute`. */
  readonly attributes?: { readonly [logicalIdDotAttribute: string]: unknown };
}

export function evaluateIntrinsics(value: unknown, values: DeployTimeValuesMap): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => evaluateIntrinsics(v, values));
  const object = value as { [key: string]: unknown };
  const keys = Object.keys(object);
  if (keys.length === 1) {
    const [key] = keys;
    const arg = object[key];
    switch (key) {
      case 'Ref': {
        const name = arg as string;
        if (!(name in values.refs)) throw new Error(`evaluateIntrinsics: no value for Ref ${name}`);
        return values.refs[name];
      }
      case 'Fn::GetAtt': {
        const name = (arg as string[]).join('.');
        if (!values.attributes || !(name in values.attributes)) throw new Error(`evaluateIntrinsics: no value for Fn::GetAtt ${name}`);
        return values.attributes[name];
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return (evaluateIntrinsics(parts, values) as unknown[]).map(String).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = evaluateIntrinsics(list, values) as unknown[];
        const i = Number(evaluateIntrinsics(index, values));
        if (!Array.isArray(items) || i < 0 || i >= items.length) throw new Error(`evaluateIntrinsics: Fn::Select ${i} out of ${JSON.stringify(items)}`);
        return items[i];
      }
      case 'Fn::Split': {
        const [separator, text] = arg as [string, unknown];
        return String(evaluateIntrinsics(text, values)).split(separator);
      }
      case 'Fn::Base64':
        return Buffer.from(String(evaluateIntrinsics(arg, values)), 'utf8').toString('base64');
      case 'Fn::Sub': {
        if (typeof arg !== 'string') throw new Error('evaluateIntrinsics: Fn::Sub with a variables map is not supported');
        return arg.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
          if (name.includes('.')) return String(values.attributes?.[name] ?? fail(`Fn::Sub ${name}`));
          return String(name in values.refs ? values.refs[name] : fail(`Fn::Sub ${name}`));
        });
      }
    }
    if (key.startsWith('Fn::') || key === 'Condition') throw new Error(`evaluateIntrinsics: ${key} is not supported`);
  }
  return Object.fromEntries(keys.map((k) => [k, evaluateIntrinsics(object[k], values)]));
}

function fail(what: string): never {
  throw new Error(`evaluateIntrinsics: no value for ${what}`);
}
