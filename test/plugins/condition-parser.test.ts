import {
  ConditionSyntaxError,
  formatCondition,
  parseCondition,
} from '../../plugins/condition/parser';

const normalise = (text: string) => formatCondition(parseCondition(text));

function syntaxError(text: string): ConditionSyntaxError {
  try {
    parseCondition(text);
  } catch (error) {
    if (error instanceof ConditionSyntaxError) return error;
    throw error;
  }
  throw new Error(`parsed: ${text}`);
}

describe('condition parser', () => {
  it.each([
    ["'a' in topics", "'a' in topics"],
    ['"a" in topics', "'a' in topics"],
    ["  'a'   in\ttopics\n", "'a' in topics"],
    ["'a'in topics", "'a' in topics"],
    ["'a' in topics&&'b' in topics", "'a' in topics && 'b' in topics"],
    [
      "'a' in topics || 'b' in topics || 'c' in topics",
      "'a' in topics || 'b' in topics || 'c' in topics",
    ],
    ["!('a' in topics)", "!('a' in topics)"],
    ["!'a' in topics", "!('a' in topics)"],
    ["!!('a' in topics)", "!(!('a' in topics))"],
    ["(('a' in topics))", "'a' in topics"],
    [
      "'TopicA' in topics && ('TopicB' in topics || 'TopicC' in topics)",
      "'TopicA' in topics && ('TopicB' in topics || 'TopicC' in topics)",
    ],
    [
      "'a' in topics && ('b' in topics || !('c' in topics))",
      "'a' in topics && ('b' in topics || !('c' in topics))",
    ],
    [
      `("a-1" in topics || 'b_2' in topics) && !("c.3~%" in topics)`,
      "('a-1' in topics || 'b_2' in topics) && !('c.3~%' in topics)",
    ],
  ])('reads %s', (text, expected) => {
    expect(normalise(text)).toBe(expected);
  });

  it('builds a tree of the condition', () => {
    expect(parseCondition("'a' in topics && !('b' in topics || 'c' in topics)")).toEqual({
      kind: 'and',
      operands: [
        { kind: 'topic', topic: 'a' },
        {
          kind: 'not',
          operand: {
            kind: 'or',
            operands: [
              { kind: 'topic', topic: 'b' },
              { kind: 'topic', topic: 'c' },
            ],
          },
        },
      ],
    });
  });

  it('accepts five topics and refuses a sixth at its position', () => {
    const five = ['a', 'b', 'c', 'd', 'e'].map((name) => `'${name}' in topics`).join(' || ');
    expect(normalise(five)).toBe(five);

    const six = `${five} || 'f' in topics`;
    const error = syntaxError(six);
    expect(error.position).toBe(six.indexOf("'f'"));
    expect(error.message).toBe(
      `too many topics at position ${six.indexOf("'f'")} (a condition may test at most 5)`,
    );
  });

  it('counts a repeated topic as another clause', () => {
    const text = Array.from({ length: 6 }, () => "'a' in topics").join(' && ');
    expect(syntaxError(text).message).toMatch(/^too many topics at position 85/);
  });

  it.each([
    ["('a' in topics", "expected ')' at position 14 (to close the '(' at position 0)"],
    [
      "('a' in topics && ('b' in topics)",
      "expected ')' at position 33 (to close the '(' at position 0)",
    ],
    ["'a' in topics)", "unexpected ')' at position 13 (no '(' to close)"],
    ['()', `expected a quoted topic name, '!' or '(' at position 1 (found ")")`],
    ["'a in topics", "unterminated topic name at position 0 (no closing ')"],
    [`'a" in topics`, "unterminated topic name at position 0 (no closing ')"],
    [`"a' in topics`, 'unterminated topic name at position 0 (no closing ")'],
    ['a in topics', `expected a quoted topic name, '!' or '(' at position 0 (found "a")`],
    ['`a` in topics', "expected a quoted topic name, '!' or '(' at position 0 (found \"`\")"],
    ["'' in topics", 'invalid topic name at position 1 (use 1 to 900 of a-z, A-Z, 0-9 and -_.~%)'],
    [
      "'a b' in topics",
      'invalid topic name at position 1 (use 1 to 900 of a-z, A-Z, 0-9 and -_.~%)',
    ],
    ["'a' topics", "expected 'in' at position 4"],
    ["'a' in", "expected 'topics' at position 6"],
    ["'a' in topic", "expected 'topics' at position 7"],
    ["'a' IN topics", "expected 'in' at position 4"],
    ["'a' in topics &", "expected '&&' at position 14"],
    ["'a' in topics | 'b' in topics", "expected '||' at position 14"],
    [
      "'a' in topics and 'b' in topics",
      "expected '&&', '||' or the end of the condition at position 14",
    ],
    [
      "'a' in topics &&",
      "expected a quoted topic name, '!' or '(' at position 16 (the condition ended)",
    ],
    ['', 'expected a quoted topic name at position 0 (the condition is empty)'],
    ['   ', 'expected a quoted topic name at position 3 (the condition is empty)'],
    [
      "'a' in topics || 'b' in topics && 'c' in topics",
      "mixing '&&' and '||' needs parentheses at position 31 (FCM reads a condition from left to right, not by precedence)",
    ],
  ])('refuses %j', (text, message) => {
    expect(syntaxError(text).message).toBe(message);
  });

  it('puts the position of the problem on the error', () => {
    const error = syntaxError("('a' in topics && ('b' in topics)");
    expect(error.position).toBe(33);
  });

  it('refuses nesting deep enough to threaten the stack', () => {
    const deep = `${'('.repeat(5000)}'a' in topics${')'.repeat(5000)}`;
    expect(syntaxError(deep).message).toBe('too deeply nested at position 32');
    const bangs = `${'!'.repeat(100)}'a' in topics`;
    expect(syntaxError(bangs).message).toMatch(/^too deeply nested at position \d+$/);
  });

  it('allows moderate nesting', () => {
    expect(normalise(`${'('.repeat(20)}'a' in topics${')'.repeat(20)}`)).toBe("'a' in topics");
  });
});
