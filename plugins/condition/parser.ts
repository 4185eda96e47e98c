/**
 * FCM's topic condition language, parsed by recursive descent:
 *
 *   condition := operand ( '&&' operand )*  |  operand ( '||' operand )*
 *   operand   := '!' operand  |  '(' condition ')'  |  topic 'in' 'topics'
 *   topic     := a topic name in single or double quotes
 *
 * FCM evaluates a condition "from left to right" once parentheses are resolved, which is not the
 * usual precedence of `&&` over `||`. `'a' in topics || 'b' in topics && 'c' in topics` would
 * mean one thing to the sender and another to FCM, so mixing the two operators at one level
 * needs parentheses here. Positions in errors count UTF-16 code units from 0, as JSON.parse does.
 */
import { TOPIC_NAME } from '../../src/plugins/kit';

/** FCM allows at most five `in topics` clauses in one condition. */
export const MAX_CONDITION_TOPICS = 5;
/** Far more than five topics need; it only keeps a hostile input from exhausting the stack. */
const MAX_NESTING = 32;
const SPACE = /[ \t\r\n]/;
const WORD = /[A-Za-z_]+/y;

export type ConditionNode =
  | { kind: 'topic'; topic: string }
  | { kind: 'not'; operand: ConditionNode }
  | { kind: 'and' | 'or'; operands: ConditionNode[] };

export class ConditionSyntaxError extends Error {
  constructor(
    message: string,
    /** Where in the condition the problem is (0-based). */
    readonly position: number,
  ) {
    super(message);
    this.name = 'ConditionSyntaxError';
  }
}

/** The syntax tree of `text`, or a `ConditionSyntaxError` whose message gives the position. */
export function parseCondition(text: string): ConditionNode {
  return new Parser(text).parse();
}

/**
 * The condition FCM is sent: single quotes, one space around each operator, `!` always followed
 * by parentheses, and a group of one operator inside the other always in parentheses, so the
 * result means the same whichever way it is read.
 */
export function formatCondition(node: ConditionNode): string {
  switch (node.kind) {
    case 'topic':
      return `'${node.topic}' in topics`;
    case 'not':
      return `!(${formatCondition(node.operand)})`;
    default: {
      const operator = node.kind === 'and' ? ' && ' : ' || ';
      return node.operands.map(formatOperand).join(operator);
    }
  }
}

function formatOperand(node: ConditionNode): string {
  const text = formatCondition(node);
  return node.kind === 'and' || node.kind === 'or' ? `(${text})` : text;
}

class Parser {
  private position = 0;
  private topics = 0;
  private nesting = 0;

  constructor(private readonly text: string) {}

  parse(): ConditionNode {
    this.skipSpace();
    if (this.atEnd())
      this.fail(`expected a quoted topic name`, this.position, 'the condition is empty');

    const node = this.condition();
    this.skipSpace();
    if (this.atEnd()) return node;
    if (this.peek() === ')') this.fail(`unexpected ')'`, this.position, `no '(' to close`);
    this.fail(`expected '&&', '||' or the end of the condition`);
  }

  private condition(): ConditionNode {
    const operands = [this.operand()];
    let operator: '&&' | '||' | undefined;

    for (;;) {
      this.skipSpace();
      const next = this.operator();
      if (next === undefined) break;
      if (operator !== undefined && next !== operator) {
        this.fail(
          `mixing '&&' and '||' needs parentheses`,
          this.position,
          'FCM reads a condition from left to right, not by precedence',
        );
      }
      operator = next;
      this.position += 2;
      operands.push(this.operand());
    }

    if (operator === undefined) return operands[0];
    return { kind: operator === '&&' ? 'and' : 'or', operands };
  }

  private operand(): ConditionNode {
    this.skipSpace();
    const char = this.peek();

    if (char === '!') {
      this.position += 1;
      return this.nested(() => ({ kind: 'not', operand: this.operand() }));
    }
    if (char === '(') {
      const open = this.position;
      this.position += 1;
      return this.nested(() => {
        const inner = this.condition();
        this.skipSpace();
        if (this.peek() !== ')') {
          this.fail(`expected ')'`, this.position, `to close the '(' at position ${open}`);
        }
        this.position += 1;
        return inner;
      });
    }
    if (char === "'" || char === '"') return this.clause(char);
    const found = char === undefined ? 'the condition ended' : `found ${JSON.stringify(char)}`;
    this.fail(`expected a quoted topic name, '!' or '('`, this.position, found);
  }

  private clause(quote: string): ConditionNode {
    const start = this.position;
    const end = this.text.indexOf(quote, start + 1);
    if (end < 0) this.fail('unterminated topic name', start, `no closing ${quote}`);

    const topic = this.text.slice(start + 1, end);
    if (!TOPIC_NAME.test(topic)) {
      this.fail('invalid topic name', start + 1, 'use 1 to 900 of a-z, A-Z, 0-9 and -_.~%');
    }
    this.topics += 1;
    if (this.topics > MAX_CONDITION_TOPICS) {
      this.fail('too many topics', start, `a condition may test at most ${MAX_CONDITION_TOPICS}`);
    }

    this.position = end + 1;
    this.expectWord('in');
    this.expectWord('topics');
    return { kind: 'topic', topic };
  }

  private operator(): '&&' | '||' | undefined {
    const pair = this.text.slice(this.position, this.position + 2);
    if (pair === '&&' || pair === '||') return pair;
    if (pair[0] === '&') this.fail(`expected '&&'`);
    if (pair[0] === '|') this.fail(`expected '||'`);
    return undefined;
  }

  private expectWord(word: string): void {
    this.skipSpace();
    WORD.lastIndex = this.position;
    const found = WORD.exec(this.text)?.[0];
    if (found !== word) this.fail(`expected '${word}'`);
    this.position += word.length;
  }

  private nested(parse: () => ConditionNode): ConditionNode {
    this.nesting += 1;
    if (this.nesting > MAX_NESTING) this.fail('too deeply nested', this.position - 1);
    const node = parse();
    this.nesting -= 1;
    return node;
  }

  private skipSpace(): void {
    while (!this.atEnd() && SPACE.test(this.text[this.position])) this.position += 1;
  }

  private peek(): string | undefined {
    return this.text[this.position];
  }

  private atEnd(): boolean {
    return this.position >= this.text.length;
  }

  private fail(problem: string, position = this.position, hint?: string): never {
    const message = `${problem} at position ${position}${hint ? ` (${hint})` : ''}`;
    throw new ConditionSyntaxError(message, position);
  }
}
