// The policy the doctor lab tests run serve with: explicit allow and deny rules on
// known lines, so that doctor's explanations can be checked to name them (rule index
// and line), and a deny CIDR for the address verdicts.
export const DOCTOR_POLICY = `defaultAction: deny
egress:
  - { action: allow, target: api.example.com }
  - { action: deny,  target: evil.example.com }
  - { action: deny,  target: 203.0.113.96/28 }
`;
