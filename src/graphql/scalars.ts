import { GraphQLScalarType, Kind } from "graphql";
import { DateTimeResolver } from "graphql-scalars";
import { BrokkrError } from "../errors.js";
import { isInt64Digits } from "../validation.js";

function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && isInt64Digits(value)) return BigInt(value);
  throw new BrokkrError("BAD_USER_INPUT", "BigInt must be an integer or a string of digits");
}

/** 64-bit integers travel as strings: JSON numbers lose precision past 2^53. */
export const BigIntScalar = new GraphQLScalarType<bigint, string>({
  name: "BigInt",
  serialize: (value) => toBigInt(value).toString(),
  parseValue: toBigInt,
  parseLiteral: (ast) => {
    if (ast.kind === Kind.INT || ast.kind === Kind.STRING) return toBigInt(ast.value);
    throw new BrokkrError("BAD_USER_INPUT", "BigInt must be an integer or a string of digits");
  },
});

export const DateTimeScalar = DateTimeResolver;
