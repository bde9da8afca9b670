/** Python programs with rospy that the ROS graph tests run as real ROS nodes (RosMaster.run, RosMaster.spawn). */

/** Python: a service class from a .srv text (as rospy uses it), its md5sum from genmsg. */
export const SRV_CLASS = `
import rospy, rosservice, genmsg, genmsg.msg_loader, genpy.dynamic
def service(name, text):
    ctx = genmsg.MsgContext.create_default()
    spec = genmsg.msg_loader.load_srv_from_string(ctx, text, name)
    md5 = genmsg.compute_md5(ctx, spec)
    req, res = text.split('---')
    Req = genpy.dynamic.generate_dynamic(name + 'Request', req)[name + 'Request']
    Res = genpy.dynamic.generate_dynamic(name + 'Response', res)[name + 'Response']
    return type('Srv', (), {'_type': name, '_md5sum': md5, '_request_class': Req, '_response_class': Res})
`;

/** A rospy node serving /add_two_ints (failing for a negative a). */
export const SERVICE_SERVER = `${SRV_CLASS}
AddTwo = service('qi_test/AddTwoInts', 'int64 a\\nint64 b\\n---\\nint64 sum\\n')
def handle(req):
    if req.a < 0:
        raise Exception('a must not be negative')
    return AddTwo._response_class(sum=req.a + req.b)
rospy.init_node('adder')
rospy.Service('/add_two_ints', AddTwo, handle)
print('READY', flush=True)
rospy.spin()
`;
