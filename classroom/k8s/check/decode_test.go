// Package check decodes the class's Kubernetes objects with the API's own
// Go types, strictly: a field Kubernetes does not know, a duplicate field or
// a kind outside the scheme fails the test, as "kubectl apply
// --validate=strict" would fail on a cluster. It is a module of its own so
// that the streamdemo module does not carry k8s.io's dependencies.
package check

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// decodeStrict decodes every document of a YAML file into its API type.
func decodeStrict(t *testing.T, file string) []runtime.Object {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme,
		networkingv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	codec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for {
		doc, err := reader.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := codec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Logf("%s: %s %s", file, gvk.Kind, gvk.GroupVersion())
		objs = append(objs, obj)
	}
	return objs
}

func TestGatewayObjectsDecodeStrictly(t *testing.T) {
	objs := decodeStrict(t, "../gateway.yaml")
	var deploy *appsv1.Deployment
	var pdb *policyv1.PodDisruptionBudget
	var netpol *networkingv1.NetworkPolicy
	var svc *corev1.Service
	for _, o := range objs {
		switch v := o.(type) {
		case *appsv1.Deployment:
			deploy = v
		case *policyv1.PodDisruptionBudget:
			pdb = v
		case *networkingv1.NetworkPolicy:
			netpol = v
		case *corev1.Service:
			svc = v
		default:
			t.Errorf("unexpected object %T", o)
		}
	}
	if deploy == nil || pdb == nil || netpol == nil || svc == nil {
		t.Fatalf("gateway.yaml needs a Deployment, a PodDisruptionBudget, a NetworkPolicy and a Service")
	}
	pod := labels.Set(deploy.Spec.Template.Labels)
	if r := deploy.Spec.Replicas; r == nil || *r < 2 {
		t.Errorf("the gateway runs %v replicas; at least 2 keep the class up when one goes", r)
	}
	for what, sel := range map[string]map[string]string{"the Deployment": deploy.Spec.Selector.MatchLabels,
		"the PodDisruptionBudget": pdb.Spec.Selector.MatchLabels, "the NetworkPolicy": netpol.Spec.PodSelector.MatchLabels,
		"the Service": svc.Spec.Selector} {
		if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(pod) {
			t.Errorf("%s does not select the gateway's pods (%v against %v)", what, sel, pod)
		}
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 ||
		pdb.Spec.MinAvailable.IntValue() >= int(*deploy.Spec.Replicas) {
		t.Errorf("the PodDisruptionBudget keeps %v of %d replicas: it must keep one and let one go", pdb.Spec.MinAvailable, *deploy.Spec.Replicas)
	}
	c := deploy.Spec.Template.Spec.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	db := env["STREAMDEMO_GATEWAY_DATABASE"]
	if db.Value != "" || db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil {
		t.Errorf("the ledger's URL must come from a Secret: %+v", db)
	}
	if _, ok := env["STREAMDEMO_GATEWAY_DATA"]; ok {
		t.Errorf("replicas must share the PostgreSQL ledger, not each keep a SQLite folder")
	}
	p := c.ReadinessProbe
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != env["JUPYTERHUB_SERVICE_PREFIX"].Value+"healthz" {
		t.Errorf("readiness must ask the gateway's healthz under its prefix: %+v", p)
	}
	if !hasPort(c, p.HTTPGet.Port.String()) {
		t.Errorf("the readiness probe's port %s is none of the container's", p.HTTPGet.Port.String())
	}
	types := map[networkingv1.PolicyType]bool{}
	for _, pt := range netpol.Spec.PolicyTypes {
		types[pt] = true
	}
	if !types[networkingv1.PolicyTypeIngress] || !types[networkingv1.PolicyTypeEgress] {
		t.Errorf("the NetworkPolicy must rule both ingress and egress: %v", netpol.Spec.PolicyTypes)
	}
	for _, rule := range netpol.Spec.Ingress {
		if len(rule.From) == 0 {
			t.Errorf("an ingress rule admits every pod: %+v", rule)
		}
	}
}

// The chart hands singleuser.lifecycleHooks to KubeSpawner as a pod's
// lifecycle: it must decode as one.
func TestValuesLifecycleHooksAreAKubernetesLifecycle(t *testing.T) {
	raw, err := os.ReadFile("../values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Singleuser struct {
			LifecycleHooks any `json:"lifecycleHooks"`
		} `json:"singleuser"`
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	hooks, _ := yaml.Marshal(values.Singleuser.LifecycleHooks)
	var lc corev1.Lifecycle
	if err := yaml.UnmarshalStrict(hooks, &lc); err != nil || lc.PostStart == nil || lc.PostStart.Exec == nil {
		t.Fatalf("singleuser.lifecycleHooks is not a Kubernetes Lifecycle with a postStart exec: %v", err)
	}
}

func hasPort(c corev1.Container, port string) bool {
	for _, p := range c.Ports {
		if n, err := strconv.Atoi(port); p.Name == port || (err == nil && p.ContainerPort == int32(n)) {
			return true
		}
	}
	return false
}

func stripComments(doc []byte) []byte {
	var out []string
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, "\n"))
}
